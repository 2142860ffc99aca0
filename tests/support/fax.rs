//! Test documents and ports shared by the fax integration tests.

use faxbridge::docs::{Page, Resolution};

use super::smtp::free_port;

/// Three short standard-resolution pages, each with a frame, its own bar
/// pattern and a page-number block.
pub fn pages(rows: u32) -> Vec<Page> {
    (0..3u32)
        .map(|n| {
            let mut p = Page::blank(1728, rows, Resolution::Standard);
            for y in 0..p.height {
                for x in 0..p.width {
                    let frame = x < 16 || x >= p.width - 16 || y < 8 || y >= p.height - 8;
                    let bars =
                        y > 40 && y < rows - 40 && (x / 48) % (n + 2) == 0 && (y / 12) % 2 == 0;
                    let number = (100..100 + 40 * (n + 1)).contains(&x) && (20..36).contains(&y);
                    if frame || bars || number {
                        p.set(x, y, true);
                    }
                }
            }
            p
        })
        .collect()
}

/// A free port for both UDP and TCP on 127.0.0.1.
pub fn free_sip_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
