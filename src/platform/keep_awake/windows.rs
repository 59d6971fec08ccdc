//! Windows: `SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`, which holds
//! off the idle sleep timer (not the display's) for as long as the calling thread keeps
//! it, cleared with `ES_CONTINUOUS` alone on the same thread (hence `THREAD_BOUND`).
//! Written to Microsoft's documented call; not tested here.

const ES_CONTINUOUS: u32 = 0x8000_0000;
const ES_SYSTEM_REQUIRED: u32 = 0x0000_0001;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn SetThreadExecutionState(flags: u32) -> u32;
}

pub(super) struct Held;

impl Held {
    pub(super) const THREAD_BOUND: bool = true;

    pub(super) async fn take(_why: &str) -> Result<Held, String> {
        // SAFETY: a plain Win32 call taking flags by value.
        match unsafe { SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED) } {
            0 => Err("SetThreadExecutionState was refused".into()),
            _ => Ok(Held),
        }
    }

    pub(super) async fn release(self) {
        // SAFETY: as above; clears what this thread asked for.
        unsafe { SetThreadExecutionState(ES_CONTINUOUS) };
    }

    pub(super) fn by(&self) -> &'static str {
        "execution state"
    }
}
