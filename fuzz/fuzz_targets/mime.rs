#![no_main]

use std::sync::Once;

static HOOK: Once = Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        // libFuzzer's hook aborts on every panic. mail-parser 0.11.9 has a
        // `debug_assert!` (a multipart part that lost its ancestor) that the
        // daemon's release build drops and that the intake turns into a
        // refusal where it is compiled in: let that one unwind to the
        // intake, as it does in the daemon.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let known = info.location().is_some_and(|l| {
                l.file().contains("mail-parser-0.11.9") && l.file().ends_with("parsers/message.rs")
            }) && {
                let p = info.payload();
                let text = p
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| p.downcast_ref::<String>().map(String::as_str));
                text.is_some_and(|m| m.contains("could not find multipart"))
            };
            if !known {
                abort(info);
            }
        }));
    });
    faxbridge::fuzzing::mime(data)
});
