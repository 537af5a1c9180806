//! The spec's `Table`, as the model tests keep it: index 0 never valid,
//! the most recently freed index reused first.

/// One component instance's table of `E`s.
#[derive(Debug, Clone)]
pub struct Table<E> {
    /// The slots, from index 0 (always empty).
    pub array: Vec<Option<E>>,
    /// Freed indices, the next to reuse last.
    pub free: Vec<u32>,
}

impl<E> Default for Table<E> {
    fn default() -> Self {
        Table {
            array: vec![None],
            free: Vec::new(),
        }
    }
}

impl<E> Table<E> {
    /// Adds `e`: its index.
    pub fn add(&mut self, e: E) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.array[i as usize] = Some(e);
                i
            }
            None => {
                self.array.push(Some(e));
                self.array.len() as u32 - 1
            }
        }
    }

    /// What index `i` holds, if anything.
    pub fn get(&self, i: u32) -> Option<&E> {
        self.array.get(i as usize).and_then(|e| e.as_ref())
    }

    /// What index `i` holds, if anything, to change.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut E> {
        self.array.get_mut(i as usize).and_then(|e| e.as_mut())
    }

    /// Takes out what index `i` holds, freeing the index.
    pub fn remove(&mut self, i: u32) -> Option<E> {
        let e = self.array.get_mut(i as usize)?.take()?;
        self.free.push(i);
        Some(e)
    }

    /// The indices that hold something.
    pub fn live(&self) -> Vec<u32> {
        (0..self.array.len() as u32)
            .filter(|i| self.get(*i).is_some())
            .collect()
    }
}

/// An engine for the model tests (the async ABI with error contexts and
/// the async `subtask.cancel`, concurrent calls, the fused module's
/// memories), and the component of WAT text `wat` as written and fused.
pub fn composed_and_fused(
    wat: &str,
) -> anyhow::Result<(
    wasmtime::component::Component,
    wasmtime::component::Component,
)> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.wasm_multi_memory(true);
    config.wasm_component_model_async(true);
    config.wasm_component_model_error_context(true);
    config.wasm_component_model_more_async_builtins(true);
    config.concurrency_support(true);
    let engine = wasmtime::Engine::new(&config)?;
    let composed = wat::parse_str(wat)?;
    let fused = solder::fuse(&[&composed], &solder::Options::default())?.bytes;
    Ok((
        wasmtime::component::Component::new(&engine, &composed)?,
        wasmtime::component::Component::new(&engine, &fused)?,
    ))
}
