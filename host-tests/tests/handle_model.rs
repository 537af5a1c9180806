//! The handle table against a plain model of the spec's `Table`: random
//! sequences of `resource.new`, `resource.rep` and `resource.drop` run on
//! the composed component under wasmtime, on the fused one, and on the
//! model; every result (a value or a trap) must agree. A trap ends the
//! instance, so the sequence goes on with fresh ones.

use anyhow::{Result, bail};
use host_tests::run::{self, Rng};
use wasmtime::Store;
use wasmtime::component::{Component, Instance, Linker, Val};

/// A component that defines a resource and exposes its built-ins on raw
/// handle numbers.
const COMPONENT: &str = r#"(component
  (component $c
    (type $r (resource (rep i32)))
    (core func $new (canon resource.new $r))
    (core func $rep (canon resource.rep $r))
    (core func $drop (canon resource.drop $r))
    (core module $m
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "rep" (func $rep (param i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (func (export "new") (param i32) (result i32) (call $new (local.get 0)))
      (func (export "rep") (param i32) (result i32) (call $rep (local.get 0)))
      (func (export "drop") (param i32) (result i32) (call $drop (local.get 0)) (i32.const 0)))
    (core instance $i (instantiate $m (with "" (instance
      (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))))))
    (func (export "new") (param "rep" u32) (result u32) (canon lift (core func $i "new")))
    (func (export "rep") (param "h" u32) (result u32) (canon lift (core func $i "rep")))
    (func (export "drop") (param "h" u32) (result u32) (canon lift (core func $i "drop"))))
  (instance $i (instantiate $c))
  (export "new" (func $i "new"))
  (export "rep" (func $i "rep"))
  (export "drop" (func $i "drop")))"#;

/// The spec's `Table`, for one resource type and owned handles.
#[derive(Default)]
struct Model {
    array: Vec<Option<u32>>,
    free: Vec<u32>,
}

impl Model {
    fn new() -> Self {
        Model {
            array: vec![None],
            free: Vec::new(),
        }
    }

    fn add(&mut self, rep: u32) -> Option<u32> {
        Some(match self.free.pop() {
            Some(i) => {
                self.array[i as usize] = Some(rep);
                i
            }
            None => {
                self.array.push(Some(rep));
                self.array.len() as u32 - 1
            }
        })
    }

    fn get(&self, i: u32) -> Option<u32> {
        self.array.get(i as usize).copied().flatten()
    }

    fn remove(&mut self, i: u32) -> Option<u32> {
        let rep = self.get(i)?;
        self.array[i as usize] = None;
        self.free.push(i);
        Some(rep)
    }

    fn live(&self) -> Vec<u32> {
        (0..self.array.len() as u32)
            .filter(|i| self.get(*i).is_some())
            .collect()
    }
}

/// A live instance of one of the two components.
struct Live {
    store: Store<()>,
    instance: Instance,
}

fn instantiate(engine: &wasmtime::Engine, component: &Component) -> Result<Live> {
    let mut store = Store::new(engine, ());
    store.set_max_component_handles(1 << 22);
    let instance = Linker::new(engine).instantiate(&mut store, component)?;
    Ok(Live { store, instance })
}

impl Live {
    fn call(&mut self, name: &str, arg: u32) -> Result<Option<u32>> {
        let Some(f) = self.instance.get_func(&mut self.store, name) else {
            bail!("no export `{name}`");
        };
        let mut out = [Val::U32(0)];
        Ok(match f.call(&mut self.store, &[Val::U32(arg)], &mut out) {
            Ok(()) => match out[0] {
                Val::U32(v) => Some(v),
                ref other => bail!("`{name}` returned {other:?}"),
            },
            Err(_) => None,
        })
    }
}

#[test]
fn random_operations_match_the_spec_table() -> Result<()> {
    let engine = run::engine()?;
    let composed_bytes = wat::parse_str(COMPONENT)?;
    let fused_bytes = solder::fuse(&[&composed_bytes], &solder::Options::default())?.bytes;
    let composed = Component::new(&engine, &composed_bytes)?;
    let fused = Component::new(&engine, &fused_bytes)?;
    let mut rng = Rng::new(0x5eed_7ab1e);
    let (mut ops, mut traps) = (0, 0);
    for _sequence in 0..200 {
        let mut model = Model::new();
        let mut a = instantiate(&engine, &composed)?;
        let mut b = instantiate(&engine, &fused)?;
        for _ in 0..400 {
            let live = model.live();
            let pick = |rng: &mut Rng| -> u32 {
                match rng.next_u64() % 40 {
                    0 => 0,
                    1 => (rng.next_u64() % 64) as u32,
                    2 => u32::MAX - (rng.next_u64() % 4) as u32,
                    3 => model.array.len() as u32 + (rng.next_u64() % 3) as u32,
                    // Freed slots.
                    4 if !model.free.is_empty() => {
                        model.free[(rng.next_u64() % model.free.len() as u64) as usize]
                    }
                    _ if !live.is_empty() => live[(rng.next_u64() % live.len() as u64) as usize],
                    _ => 1,
                }
            };
            let (name, arg, expected) = match rng.next_u64() % 7 {
                0..=2 => {
                    let rep = rng.next_u64() as u32;
                    ("new", rep, model.add(rep))
                }
                3 | 4 => {
                    let h = pick(&mut rng);
                    ("rep", h, model.get(h))
                }
                _ => {
                    let h = pick(&mut rng);
                    ("drop", h, model.remove(h).map(|_| 0))
                }
            };
            let got_a = a.call(name, arg)?;
            let got_b = b.call(name, arg)?;
            ops += 1;
            assert_eq!(
                got_a, expected,
                "composed: {name}({arg}) after {ops} operations"
            );
            assert_eq!(
                got_b, expected,
                "fused: {name}({arg}) after {ops} operations"
            );
            if expected.is_none() {
                // Both instances trapped: start over.
                traps += 1;
                break;
            }
        }
    }
    println!("{ops} operations, {traps} traps, all equal");
    assert!(ops > 1000 && traps > 5);
    Ok(())
}
