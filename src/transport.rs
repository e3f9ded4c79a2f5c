//! The seam between the handwritten layer and the generated client.
use progenitor_client::ClientHooks;

use crate::generated;

/// Per-request state handed to the generated client.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {}

impl ClientHooks<RequestContext> for generated::Client {}
