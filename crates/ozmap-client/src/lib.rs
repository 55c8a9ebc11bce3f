#![doc = include_str!("../README.md")]

mod client;
mod error;
mod geo;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
mod model;

pub use client::OzmapClient;
pub use error::OzmapError;
pub use geo::{EARTH_RADIUS_M, distance_m};

pub use model::{
    BoxInfo, Connection, NewClient, NewProperty, NewProspect, Property, Ref, Splitter,
    SplitterPort, Viability, ViableBox,
};
