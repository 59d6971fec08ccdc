//! macOS: an IOKit power assertion `PreventUserIdleSystemSleep` (what `caffeinate -i`
//! takes), named with the reason so `pmset -g assertions` says why, released by its id.
//! Written to Apple's documented calls; not tested here.

use std::ffi::{CString, c_char, c_void};

type CFStringRef = *const c_void;

const CF_STRING_ENCODING_UTF8: u32 = 0x0800_0100;
const ASSERTION_LEVEL_ON: u32 = 255;

#[link(name = "CoreFoundation", kind = "framework")]
unsafe extern "C" {
    fn CFStringCreateWithCString(
        allocator: *const c_void,
        text: *const c_char,
        encoding: u32,
    ) -> CFStringRef;
    fn CFRelease(object: *const c_void);
}

#[link(name = "IOKit", kind = "framework")]
unsafe extern "C" {
    fn IOPMAssertionCreateWithName(
        assertion_type: CFStringRef,
        level: u32,
        name: CFStringRef,
        id: *mut u32,
    ) -> i32;
    fn IOPMAssertionRelease(id: u32) -> i32;
}

pub(super) struct Held {
    id: u32,
}

/// A CFString made from `text`, released when dropped.
struct CfString(CFStringRef);

impl CfString {
    fn new(text: &str) -> Option<CfString> {
        let text = CString::new(text.replace('\0', " ")).ok()?;
        // SAFETY: `text` is a valid NUL-terminated UTF-8 string for the call's length.
        let made = unsafe {
            CFStringCreateWithCString(std::ptr::null(), text.as_ptr(), CF_STRING_ENCODING_UTF8)
        };
        (!made.is_null()).then_some(CfString(made))
    }
}

impl Drop for CfString {
    fn drop(&mut self) {
        // SAFETY: made by CFStringCreateWithCString, released once.
        unsafe { CFRelease(self.0) }
    }
}

impl Held {
    pub(super) const THREAD_BOUND: bool = false;

    pub(super) async fn take(why: &str) -> Result<Held, String> {
        let kind = CfString::new("PreventUserIdleSystemSleep").ok_or("no CFString")?;
        let name = CfString::new(why).ok_or("no CFString")?;
        let mut id = 0u32;
        // SAFETY: both strings live through the call; `id` is a valid out pointer.
        let status =
            unsafe { IOPMAssertionCreateWithName(kind.0, ASSERTION_LEVEL_ON, name.0, &mut id) };
        if status == 0 {
            Ok(Held { id })
        } else {
            Err(format!(
                "the power assertion was refused (IOReturn {status:#x})"
            ))
        }
    }

    pub(super) async fn release(self) {
        // SAFETY: `id` came from IOPMAssertionCreateWithName and is released once.
        unsafe { IOPMAssertionRelease(self.id) };
    }

    pub(super) fn by(&self) -> &'static str {
        "power assertion"
    }
}
