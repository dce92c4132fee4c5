// Replaced by the QuicCore tests.
import XCTest
