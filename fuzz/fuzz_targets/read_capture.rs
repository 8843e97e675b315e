//! Bytes → the pcap/pcapng reader → every frame, each decoded. The reader must end with
//! `Ok(None)` or an error (never loop), report errors at offsets inside the input, and give
//! frames in file order.
#![no_main]

use std::io::Cursor;

use connlens::capture::CaptureReader;
use connlens::decode::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small buffer too, so that records straddle the buffer's end and it has to grow.
    for size in [64, 1 << 20] {
        let Ok(mut r) = CaptureReader::with_buffer_size(Cursor::new(data), 0, size) else {
            continue;
        };
        let mut frames = 0u64;
        let mut last_offset = None;
        loop {
            match r.next_frame() {
                Ok(Some(f)) => {
                    frames += 1;
                    // A record has a header of at least 12 bytes (a pcapng simple packet
                    // block): there cannot be more frames than that allows.
                    assert!(frames <= data.len() as u64 / 12 + 1, "reader loops");
                    assert_eq!(f.origin.number, frames);
                    assert!(f.origin.offset < data.len() as u64);
                    assert!(last_offset.is_none_or(|o| o < f.origin.offset));
                    last_offset = Some(f.origin.offset);
                    assert!(f.data.len() <= data.len());
                    let _ = decode(&f);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(
                        e.offset <= data.len() as u64,
                        "error offset {} past the end",
                        e.offset
                    );
                    // After an error there is nothing more.
                    assert!(matches!(r.next_frame(), Ok(None)));
                    break;
                }
            }
        }
    }
});
