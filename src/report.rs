//! The report beside the fused bytes: what static instantiation found and
//! what the fused module holds.

use crate::instantiate::Graph;
use crate::merge::Layout;
use crate::parse::Input;
use serde::Serialize;

/// One input component, identified so a build can be audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    /// `input[i]`, in the order the inputs were given.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the input's bytes, as 64 lowercase hex digits.
    pub sha256: String,
}

impl InputInfo {
    /// Describes the `index`th input.
    pub fn new(index: usize, bytes: &[u8]) -> Self {
        use sha2::Digest;
        use std::fmt::Write;
        let digest = sha2::Sha256::digest(bytes);
        let mut sha256 = String::with_capacity(64);
        for b in digest {
            let _ = write!(sha256, "{b:02x}");
        }
        InputInfo {
            name: format!("input[{index}]"),
            size: bytes.len() as u64,
            sha256,
        }
    }
}

/// One core instance of the composition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceInfo {
    /// The module's component path.
    pub path: String,
    /// Functions it contributes.
    pub functions: u32,
    /// Memories it defines.
    pub memories: u32,
}

/// One cross-component call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterInfo {
    /// `caller -> callee` component instance paths.
    pub route: String,
    /// The function's name.
    pub name: String,
    /// How it moves values.
    pub strategy: crate::adapter::Strategy,
}

/// A component instance's resource types and handle table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandleTableInfo {
    /// The component instance's path.
    pub instance: String,
    /// Resource types it defines.
    pub defines: Vec<String>,
    /// The fused module's memory holding its handle table, if it holds
    /// handles.
    pub table_memory: Option<u32>,
}

/// The DWARF debugging information carried into the output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DebugInfo {
    /// Compile units carried from the inputs (the one Solder adds for its
    /// generated functions not counted); 0 when no input had DWARF or it
    /// was stripped.
    pub compile_units: u32,
    /// Bytes of the output's `.debug_*` sections.
    pub bytes: u64,
    /// DWARF that could not be carried, and why (the fuse went on
    /// without it).
    pub warnings: Vec<String>,
}

/// What fusing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The inputs, with their sizes and SHA-256 digests.
    pub inputs: Vec<InputInfo>,
    /// Component instances found.
    pub component_instances: u32,
    /// Core instances merged.
    pub core_instances: Vec<InstanceInfo>,
    /// Generated adapters.
    pub adapters: Vec<AdapterInfo>,
    /// Host imports that stay imports.
    pub host_imports: u32,
    /// Resource types and handle tables, per component instance.
    pub handle_tables: Vec<HandleTableInfo>,
    /// Memories in the fused module.
    pub memories: u32,
    /// Functions in the fused module.
    pub functions: u32,
    /// Input size in bytes.
    pub input_size: u64,
    /// Output size in bytes (0 when nothing was produced).
    pub output_size: u64,
    /// The DWARF carried into the output.
    pub debug_info: DebugInfo,
}

impl Report {
    pub(crate) fn new(input: &Input<'_>, graph: &Graph<'_>, layout: &Layout<'_, '_>) -> Self {
        let types = input.types.as_ref();
        Report {
            inputs: Vec::new(),
            component_instances: graph.component_instances.len() as u32,
            core_instances: graph
                .core_instances
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let m = &input.modules[c.module.0 as usize];
                    InstanceInfo {
                        path: m.path.clone(),
                        functions: layout.instance_functions(i),
                        memories: m.memories.len() as u32,
                    }
                })
                .collect(),
            adapters: graph
                .adapters
                .iter()
                .map(|a| AdapterInfo {
                    route: format!(
                        "{} -> {}",
                        graph.component_instances[a.caller.index()],
                        graph.component_instances[a.callee.instance.index()]
                    ),
                    name: a.name.to_string(),
                    strategy: crate::adapter::strategy(types, a),
                })
                .collect(),
            host_imports: graph.host_lowers.len() as u32,
            handle_tables: graph
                .component_instances
                .iter()
                .enumerate()
                .filter_map(|(i, path)| {
                    let id = crate::instantiate::ComponentInstanceId(i as u32);
                    let defines: Vec<String> = graph
                        .resources
                        .iter()
                        .filter(|r| {
                            matches!(r.owner, crate::instantiate::ResourceOwner::Instance { instance, .. } if instance == id)
                        })
                        .map(|r| r.name.clone())
                        .collect();
                    let table_memory = layout.table_memory(id);
                    (!defines.is_empty() || table_memory.is_some()).then(|| HandleTableInfo {
                        instance: path.clone(),
                        defines,
                        table_memory,
                    })
                })
                .collect(),
            memories: layout.memory_count(),
            functions: layout.function_count(),
            input_size: input.bytes.len() as u64,
            output_size: 0,
            debug_info: layout
                .debug()
                .map(|d| DebugInfo {
                    compile_units: d.units,
                    bytes: d.bytes,
                    warnings: d.warnings.clone(),
                })
                .unwrap_or_default(),
        }
    }

    /// The report as pretty-printed JSON, for build logs and audits.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, list or record: this cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for i in &self.inputs {
            let _ = writeln!(s, "{}: {} bytes, sha256 {}", i.name, i.size, i.sha256);
        }
        let _ = writeln!(s, "component instances: {}", self.component_instances);
        let _ = writeln!(s, "core instances: {}", self.core_instances.len());
        for c in &self.core_instances {
            let _ = writeln!(
                s,
                "  {} ({} functions, {} memories)",
                c.path, c.functions, c.memories
            );
        }
        let _ = writeln!(s, "adapters: {}", self.adapters.len());
        for a in &self.adapters {
            let _ = writeln!(s, "  {} `{}` [{}]", a.route, a.name, a.strategy);
        }
        let _ = writeln!(s, "host imports: {}", self.host_imports);
        if !self.handle_tables.is_empty() {
            let _ = writeln!(s, "resources and handle tables:");
        }
        for t in &self.handle_tables {
            let _ = write!(s, "  {}", t.instance);
            if !t.defines.is_empty() {
                let _ = write!(s, " defines {}", t.defines.join(", "));
            }
            match t.table_memory {
                Some(m) => {
                    let _ = writeln!(s, "; handle table in memory {m}");
                }
                None => {
                    let _ = writeln!(s, "; holds no handles");
                }
            }
        }
        let _ = writeln!(
            s,
            "fused module: {} functions, {} memories",
            self.functions, self.memories
        );
        let d = &self.debug_info;
        if d.compile_units > 0 || !d.warnings.is_empty() {
            let _ = writeln!(
                s,
                "DWARF: {} compile units, {} bytes",
                d.compile_units, d.bytes
            );
            for w in &d.warnings {
                let _ = writeln!(s, "  warning: {w}");
            }
        }
        let _ = write!(s, "size: {} bytes in", self.input_size);
        if self.output_size > 0 {
            let _ = write!(s, ", {} bytes out", self.output_size);
        }
        s
    }
}
