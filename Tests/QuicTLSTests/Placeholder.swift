// Replaced by the QuicTLS tests.
import XCTest
