//! The portal's tests against a stand-in provider: the browser flow, the API's token checks,
//! and start-up. The end-to-end tests against a real Sésame live in Sésame's test binary.

mod api;
mod flow;
mod mock_idp;
mod startup;
