//! Test peers shared by the integration tests.

#![allow(dead_code)]

pub mod audio;
pub mod config;
pub mod fax;
pub mod postgres;
pub mod procs;
pub mod sipp;
pub mod smtp;
pub mod stranger;
