//! Guides: the reference the README links to, one page a topic — the same
//! text as the files under `docs/` in the repository. Their examples compile
//! (and run) as doctests.

#[doc = include_str!("../docs/client.md")]
pub mod client {}

#[doc = include_str!("../docs/cli.md")]
pub mod cli {}

#[doc = include_str!("../docs/receiving.md")]
pub mod receiving {}

#[doc = include_str!("../docs/stand-in.md")]
pub mod stand_in {}

#[doc = include_str!("../docs/redis.md")]
pub mod redis {}

#[doc = include_str!("../docs/performance.md")]
pub mod performance {}

#[doc = include_str!("../docs/limits.md")]
pub mod limits {}

#[doc = include_str!("../docs/internals.md")]
pub mod internals {}
