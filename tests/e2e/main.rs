//! The end-to-end suite: one binary, one module per behaviour.

mod bad_config;
mod clients;
mod examples;
mod prompting;
mod rig;
mod smoke;
mod standin;
mod support;
