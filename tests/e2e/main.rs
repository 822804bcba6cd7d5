//! The end-to-end suite: one binary, one module per behaviour.

mod bad_config;
mod bench;
mod cases;
mod clients;
mod console;
mod dialogs;
mod direnv;
mod display;
mod examples;
mod exec;
mod faults;
mod front_door;
mod hygiene;
mod keychain;
mod onboarding;
mod parallel;
mod prompting;
mod rig;
mod roles;
mod rotate;
mod sdks;
mod smoke;
mod standin;
mod support;
mod tools;
mod trust;
