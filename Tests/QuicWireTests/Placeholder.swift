// Replaced by the QuicWire tests.
import XCTest
