// Replaced by the QuicCrypto tests.
import XCTest
