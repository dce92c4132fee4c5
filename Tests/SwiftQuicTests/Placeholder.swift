// Replaced by the SwiftQuic tests.
import XCTest
