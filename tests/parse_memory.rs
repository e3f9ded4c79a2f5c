//! `events::parse` of bodies whose free-form fields hold a wide or a deep
//! map: the peak of memory allocated while parsing stays within a few
//! times the body. (A binary of its own: it counts every allocation.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Measurements must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Bytes allocated at the peak of `f`, above what was allocated before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - before)
}

/// A conversation notification whose `metadata_json` holds `inner`.
fn body(inner: &str) -> Vec<u8> {
    format!(
        r#"{{"app_id":"a","project_id":"p","conversation_start_notification":{{"conversation":{{"id":"C1","metadata_json":{inner}}}}}}}"#
    )
    .into_bytes()
}

fn wide(bytes: usize) -> String {
    let mut map = String::from("{");
    let mut i = 0;
    while map.len() < bytes {
        if i > 0 {
            map.push(',');
        }
        map.push_str(&format!(r#""k{i}":{i}"#));
        i += 1;
    }
    map.push('}');
    map
}

fn deep(depth: usize) -> String {
    // serde_json refuses more than 128 levels; wide maps at each level.
    let level = wide(3_000_000 / depth);
    let mut out = String::from("{}");
    for _ in 0..depth {
        out = format!(r#"{{"inner":{out},"level":{level}}}"#);
    }
    out
}

#[test]
fn a_3_mb_free_form_map_parses_within_three_times_the_body() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (shape, inner) in [("wide", wide(3_000_000)), ("deep", deep(100))] {
        let body = body(&inner);
        drop(inner);
        let (event, peak) = peak_of(|| sinch_conversation::events::parse(&body));
        let event = event.unwrap_or_else(|e| panic!("{shape}: {e}"));
        let ratio = peak as f64 / body.len() as f64;
        // For scale: the same body as a `serde_json::Value` (what a map
        // field costs).
        let (value, as_value) = peak_of(|| serde_json::from_slice::<serde_json::Value>(&body));
        drop(value);
        eprintln!(
            "{shape}: body {} bytes, peak {peak} bytes (×{ratio:.2}); as a Value ×{:.1}",
            body.len(),
            as_value as f64 / body.len() as f64
        );
        assert!(ratio <= 3.0, "{shape}: peak ×{ratio:.2} of the body");
        // Nothing was lost: the map is there, as received.
        let sinch_conversation::events::Event::ConversationStart(n) = &event.event else {
            panic!("{shape}: {event:?}")
        };
        let kept = n
            .conversation
            .as_ref()
            .and_then(|c| c.metadata_json.as_ref());
        assert!(
            kept.is_some_and(|raw| raw.get().len() + 150 > body.len()),
            "{shape}"
        );
    }
}
