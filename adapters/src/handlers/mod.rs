//! Event handlers: what processing an event does.

mod log;

pub use self::log::LogHandler;
