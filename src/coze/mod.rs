//! The typed Coze client: models, errors, the envelope, pagination, SSE, retries.
//! Knows nothing about tasks or the screen.

mod client;
pub mod error;
pub mod gate;
pub mod models;
pub mod retry;
pub mod server;
pub mod sse;
pub mod stream;
mod studio;
pub mod token;

pub use client::{
    ChatMessage, ChatRequest, ClientOptions, CozeClient, DEFAULT_BASE_URL, Renewal, Reply, ResumeRequest, RunRequest,
    decode_envelope, parse_base_url,
};
pub use error::{CozeError, Delivery, ErrorKind};
pub use gate::{GateFuture, RequestGate, RequestKind};
pub use models::*;
pub use retry::RetryPolicy;
pub use server::Server;
pub use stream::{
    InterruptEvent, MessageEvent, StreamEnd, StreamErrorEvent, StreamEvent, WorkflowEvent, WorkflowStream, is_end_node,
};
