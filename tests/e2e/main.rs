//! The end-to-end suite: one binary, one module per behaviour.

mod rig;
mod smoke;
