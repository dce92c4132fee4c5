// ThreadSanitizer builds only: `Mutex` here is QuicPlatform's pthread-based lock, which TSan
// understands, instead of Synchronization.Mutex, whose contended path TSan cannot see (the
// reason is written at QuicPlatform/InstrumentedMutex.swift). Release and debug builds keep
// Synchronization.Mutex.
#if SWIFTQUIC_TSAN
import QuicPlatform

typealias Mutex<Value> = InstrumentedMutex<Value>
#endif
