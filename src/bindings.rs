//! The `solder:fuser/fuse` export of the fuser component: the library
//! behind the WIT interface in `wit/fuser.wit`.

wit_bindgen::generate!({ world: "fuser", path: "wit" });

use exports::solder::fuser::fuse as wit;

struct Fuser;

fn error(e: solder::Error) -> wit::FuseError {
    let info = wit::ErrorInfo {
        message: e.message().to_string(),
        path: e.path().to_string(),
        offset: e.offset(),
        feature: e.feature().map(str::to_string),
    };
    match e.kind() {
        solder::ErrorKind::Malformed => wit::FuseError::Malformed(info),
        solder::ErrorKind::Unsupported => wit::FuseError::Unsupported(info),
        solder::ErrorKind::Unresolved => wit::FuseError::Unresolved(info),
        solder::ErrorKind::LimitExceeded => wit::FuseError::LimitExceeded(info),
        solder::ErrorKind::Internal => wit::FuseError::Internal(info),
    }
}

fn report(r: solder::Report) -> wit::Report {
    wit::Report {
        inputs: r
            .inputs
            .into_iter()
            .map(|i| wit::InputInfo {
                name: i.name,
                size: i.size,
                sha256: i.sha256,
            })
            .collect(),
        component_instances: r.component_instances,
        core_instances: r
            .core_instances
            .into_iter()
            .map(|c| wit::InstanceInfo {
                path: c.path,
                functions: c.functions,
                memories: c.memories,
            })
            .collect(),
        adapters: r
            .adapters
            .into_iter()
            .map(|a| wit::AdapterInfo {
                route: a.route,
                name: a.name,
                strategy: a.strategy.to_string(),
            })
            .collect(),
        host_imports: r.host_imports,
        handle_tables: r
            .handle_tables
            .into_iter()
            .map(|t| wit::HandleTableInfo {
                instance: t.instance,
                defines: t.defines,
                table_memory: t.table_memory,
            })
            .collect(),
        memories: r.memories,
        functions: r.functions,
        input_size: r.input_size,
        output_size: r.output_size,
        debug_info: wit::DebugInfo {
            compile_units: r.debug_info.compile_units,
            bytes: r.debug_info.bytes,
            warnings: r.debug_info.warnings,
        },
    }
}

impl wit::Guest for Fuser {
    fn fuse(components: Vec<Vec<u8>>, options: wit::Options) -> Result<wit::Fused, wit::FuseError> {
        let inputs: Vec<&[u8]> = components.iter().map(Vec::as_slice).collect();
        let options = solder::Options {
            output: match options.output {
                wit::OutputKind::Component => solder::OutputKind::Component,
                wit::OutputKind::CoreModule => solder::OutputKind::CoreModule,
            },
            validate: options.validate,
            strip_debug: options.strip_debug,
            single_memory: options.single_memory,
            ..solder::Options::default()
        };
        let fused = solder::fuse(&inputs, &options).map_err(error)?;
        Ok(wit::Fused {
            bytes: fused.bytes,
            report: report(fused.report),
        })
    }

    fn inspect(component: Vec<u8>) -> Result<wit::Report, wit::FuseError> {
        solder::inspect(&component).map(report).map_err(error)
    }
}

export!(Fuser);
