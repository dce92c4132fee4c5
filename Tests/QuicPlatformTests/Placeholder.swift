// Replaced by the QuicPlatform tests.
import XCTest
