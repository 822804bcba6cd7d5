//! Windows' credential dialog, shown by `aws-mfa-proc-full __credui TEXT`, which
//! [`super::dialog`] runs as it runs zenity: under its deadline, the code on stdout.
//! `CredUIPromptForCredentialsW`, not `CredUIPromptForWindowsCredentialsW`: Wine draws
//! the first (the Windows lane types into it) and only stubs the second.
//!
//! The crate's only `unsafe` code, one FFI call. Invariants:
//! - every pointer handed to Windows points into a buffer owned here that outlives the
//!   call; strings end in NUL, and each buffer size passed is that buffer's length;
//! - the password buffer (the code) and its UTF-8 copy are zeroed when dropped;
//! - exit 0 with the code and a newline on stdout, 1 on Cancel, 2 with one line on stderr
//!   when the dialog could not be shown. The text shown is no secret.

use std::ffi::OsStr;
use std::io::Write;
use std::os::windows::ffi::OsStrExt;

use windows_sys::Win32::Foundation::ERROR_CANCELLED;
use windows_sys::Win32::Security::Credentials::{
    CREDUI_FLAGS_ALWAYS_SHOW_UI, CREDUI_FLAGS_DO_NOT_PERSIST, CREDUI_FLAGS_GENERIC_CREDENTIALS,
    CREDUI_FLAGS_KEEP_USERNAME, CREDUI_INFOW, CREDUI_MAX_USERNAME_LENGTH,
    CredUIPromptForCredentialsW,
};
use zeroize::Zeroizing;

use super::dialog::{CREDUI_ARG, TITLE};

/// Room for the code (Windows' own limit, CREDUI_MAX_PASSWORD_LENGTH, is larger).
const PASSWORD_CHARS: usize = 256;

/// Shows the dialog and exits, if this run is `aws-mfa-proc-full __credui TEXT`.
pub(crate) fn answer_if_asked() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(CREDUI_ARG)) {
        return;
    }
    let text = args.next().unwrap_or_default();
    std::process::exit(show(&text));
}

/// The exit code: see the module's invariants.
fn show(text: &OsStr) -> i32 {
    let wide = |s: &OsStr| s.encode_wide().chain([0]).collect::<Vec<u16>>();
    let title = wide(OsStr::new(TITLE));
    let message = wide(text);
    let mut user = wide(OsStr::new("MFA code"));
    user.resize(CREDUI_MAX_USERNAME_LENGTH as usize + 1, 0);
    let mut password = Zeroizing::new(vec![0u16; PASSWORD_CHARS + 1]);
    let info = CREDUI_INFOW {
        cbSize: size_of::<CREDUI_INFOW>() as u32,
        hwndParent: std::ptr::null_mut(),
        pszMessageText: message.as_ptr(),
        pszCaptionText: title.as_ptr(),
        hbmBanner: std::ptr::null_mut(),
    };
    let mut save = 0;
    // SAFETY: see the module's invariants: `info`, `title`, `user`, `password` and
    // `save` live until the call returns, and the sizes are the buffers' lengths.
    let status = unsafe {
        CredUIPromptForCredentialsW(
            &info,
            title.as_ptr(),
            std::ptr::null(),
            0,
            user.as_mut_ptr(),
            user.len() as u32,
            password.as_mut_ptr(),
            password.len() as u32,
            &mut save,
            CREDUI_FLAGS_GENERIC_CREDENTIALS
                | CREDUI_FLAGS_ALWAYS_SHOW_UI
                | CREDUI_FLAGS_DO_NOT_PERSIST
                | CREDUI_FLAGS_KEEP_USERNAME,
        )
    };
    match status {
        0 => {
            let end = password
                .iter()
                .position(|&c| c == 0)
                .unwrap_or(password.len());
            let code = Zeroizing::new(String::from_utf16_lossy(&password[..end]));
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(code.as_bytes())
                .and_then(|()| stdout.write_all(b"\n"))
                .and_then(|()| stdout.flush())
            {
                Ok(()) => 0,
                Err(_) => 2,
            }
        }
        ERROR_CANCELLED => 1,
        error => {
            let _ = writeln!(
                std::io::stderr(),
                "the credential dialog could not be shown (Windows error {error})"
            );
            2
        }
    }
}
