//! Calling async exports the way an async host does: wasmtime's
//! concurrent calls, several in flight at once, inside one
//! `run_concurrent`. For the async guest world of
//! `fixtures/wit/async-guest`, which its guests build from Rust and Python.

use crate::run::Host;
use anyhow::Result;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use wasmtime::component::{Accessor, Component, Instance, Linker, TypedFunc};
use wasmtime::{Config, Engine, Store};

/// An engine for async components: the component model's async ABI and
/// concurrent calls, and the fused module's memories.
pub fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(true);
    config.wasm_component_model_async(true);
    config.concurrency_support(true);
    Ok(Engine::new(&config)?)
}

/// A future that is pending once (waking itself), then ready: a host
/// function that awaits it finishes after the guest's call to it returned.
#[derive(Default)]
pub struct Later(bool);

impl Future for Later {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A boxed future, as `futures::future::join_all` takes them here.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The async guest world's exports.
#[derive(Clone, Copy)]
pub struct Exports {
    /// `shout: async func(s: string) -> string`.
    pub shout: TypedFunc<(String,), (String,)>,
    /// `count: async func(n: u32) -> u32`.
    pub count: TypedFunc<(u32,), (u32,)>,
    /// `boom: async func(fail: bool) -> u32`.
    pub boom: TypedFunc<(bool,), (u32,)>,
}

/// An instance of an async guest, with WASI (output captured) and the
/// world's async host function `tick` (`n + 1`, a little later).
pub struct AsyncGuest {
    /// Its store.
    pub store: Store<Host>,
    /// Its exports.
    pub exports: Exports,
}

/// Instantiates `component` with WASI (output captured) and the async
/// host function `tick` (`n + 1`, a little later), which the async guest
/// worlds import.
pub fn instantiate(engine: &Engine, component: &Component) -> Result<(Store<Host>, Instance)> {
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker
        .root()
        .func_wrap_concurrent("tick", |_: &Accessor<Host>, (n,): (u32,)| {
            Box::pin(async move {
                Later(false).await;
                Ok((n.wrapping_add(1),))
            })
        })?;
    let mut store = Store::new(engine, Host::new(&[], &[]));
    let instance =
        wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, component))?;
    Ok((store, instance))
}

/// A component that gives the async guest worlds their `tick` (`n + 1`)
/// from another component: lifted async with a callback, its core
/// function returns after `task.return` with `code` (`(i32.const 0)`, the
/// `EXIT` the fused module proves, or a code it computes).
pub fn async_tick_provider(code: &str) -> Result<Vec<u8>> {
    Ok(wat::parse_str(format!(
        r#"(component
          (core module $m
            (import "" "task.return" (func $return (param i32)))
            (func (export "tick") (param i32) (result i32)
              (call $return (i32.add (local.get 0) (i32.const 1)))
              {code})
            (func (export "tick-cb") (param i32 i32 i32) (result i32)
              unreachable))
          (core func $return (canon task.return (result u32)))
          (core instance $i (instantiate $m
            (with "" (instance (export "task.return" (func $return))))))
          (func (export "tick") async (param "n" u32) (result u32)
            (canon lift (core func $i "tick") async
              (callback (core func $i "tick-cb")))))"#
    ))?)
}

/// Runs `f` inside one `run_concurrent` of `store`, to the end.
pub fn run<R: Send + 'static>(
    store: &mut Store<Host>,
    f: impl AsyncFnOnce(&Accessor<Host>) -> Result<R> + Send,
) -> Result<R> {
    wasmtime_wasi::runtime::in_tokio(store.run_concurrent(f))?
}

impl AsyncGuest {
    /// Instantiates `component`.
    pub fn new(engine: &Engine, component: &Component) -> Result<Self> {
        let (mut store, instance) = instantiate(engine, component)?;
        let exports = Exports {
            shout: instance.get_typed_func(&mut store, "shout")?,
            count: instance.get_typed_func(&mut store, "count")?,
            boom: instance.get_typed_func(&mut store, "boom")?,
        };
        Ok(AsyncGuest { store, exports })
    }

    /// Runs `f` with the exports inside one `run_concurrent`, to the end.
    pub fn run<R: Send + 'static>(
        &mut self,
        f: impl AsyncFnOnce(&Accessor<Host>, Exports) -> Result<R> + Send,
    ) -> Result<R> {
        let exports = self.exports;
        run(&mut self.store, async move |a: &Accessor<Host>| {
            f(a, exports).await
        })
    }

    /// `count(n)` `calls` times, all in flight at once.
    pub fn counts(&mut self, calls: u32, n: u32) -> Result<()> {
        self.run(async move |a: &Accessor<Host>, e: Exports| {
            let all: Vec<Call<'_, wasmtime::Result<(u32,)>>> = (0..calls)
                .map(|_| Box::pin(e.count.call_concurrent(a, (n,))) as Call<'_, _>)
                .collect();
            for r in futures::future::join_all(all).await {
                anyhow::ensure!(r?.0 == n, "count({n}) gave another number");
            }
            Ok(())
        })
    }

    /// `count(n)` `calls` times, one after another.
    pub fn counts_in_turn(&mut self, calls: u32, n: u32) -> Result<()> {
        self.run(async move |a: &Accessor<Host>, e: Exports| {
            for _ in 0..calls {
                let (m,) = e.count.call_concurrent(a, (n,)).await?;
                anyhow::ensure!(m == n, "count({n}) gave {m}");
            }
            Ok(())
        })
    }

    /// `shout(text)` `calls` times, one after another.
    pub fn shouts(&mut self, calls: u32, text: &str) -> Result<()> {
        let text = text.to_string();
        self.run(async move |a: &Accessor<Host>, e: Exports| {
            for _ in 0..calls {
                e.shout.call_concurrent(a, (text.clone(),)).await?;
            }
            Ok(())
        })
    }
}
