//! The fuser component, called through its WIT interface.

use anyhow::Result;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "fuser" });
}
use bindings::Fuser;

pub use bindings::exports::solder::fuser::fuse::{
    ErrorInfo, FuseError, Fused, Options, OutputKind,
};

/// A loaded fuser component.
pub struct FuserComponent {
    engine: Engine,
    component: Component,
    linker: Linker<crate::run::Host>,
}

impl FuserComponent {
    /// Compiles the fuser component.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Self> {
        Self::from_component(engine, Component::new(engine, bytes)?)
    }

    /// The fuser component, compiled already.
    pub fn from_component(engine: &Engine, component: Component) -> Result<Self> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Ok(FuserComponent {
            engine: engine.clone(),
            component,
            linker,
        })
    }

    /// Calls `fuse` in a fresh instance.
    pub fn fuse(&self, inputs: &[Vec<u8>], options: Options) -> Result<Result<Fused, FuseError>> {
        let mut store = Store::new(&self.engine, crate::run::Host::new(&[], &[]));
        let fuser = Fuser::instantiate(&mut store, &self.component, &self.linker)?;
        Ok(fuser
            .solder_fuser_fuse()
            .call_fuse(&mut store, inputs, options)?)
    }
}
