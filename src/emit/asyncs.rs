//! The async built-ins, defined again in the output for the component
//! instance that used them (see `instantiate::asyncs`).

use super::{Emitter, Out, Pending, types};
use crate::error::{Error, Result};
use crate::instantiate::Options;
use crate::parse::AsyncBuiltin;
use wasm_encoder::{CanonicalFunctionSection, ComponentValType};
use wasmparser::component_types::ComponentValType as PValType;
use wasmparser::{CanonicalFunction as C, ExternalKind};

impl<'a> Emitter<'_, 'a> {
    /// Writes `builtin` into the output's canonical section, with its types
    /// written into the output first and its memory and `realloc` taken
    /// from the fused module.
    pub(super) fn async_builtin(
        &mut self,
        builtin: &AsyncBuiltin,
        options: &Options<'a>,
    ) -> Result<()> {
        let types = self.input.types.as_ref();
        let ty = match builtin.ty {
            Some(id) => match types::val_type(self, types, &PValType::Type(id))? {
                ComponentValType::Type(i) => i,
                ComponentValType::Primitive(_) => {
                    return Err(Error::internal(
                        "a stream or future type written as a primitive",
                    ));
                }
            },
            None => 0,
        };
        let result = builtin
            .result
            .as_ref()
            .map(|r| types::val_type(self, types, r))
            .transpose()?;
        let opts = self.canon_options(options)?;
        // Aliased once: the options above hold the same index.
        let memory = options
            .memory
            .as_ref()
            .map(|m| self.core_alias(m, ExternalKind::Memory))
            .transpose()?;
        let memory = || memory.ok_or_else(|| Error::internal("a wait or poll without its memory"));
        let context = |t: &wasmparser::ValType| crate::merge::val_type(*t);
        let canon = section!(self.out, Canon, CanonicalFunctionSection);
        match &builtin.canon {
            C::BackpressureInc => canon.backpressure_inc(),
            C::BackpressureDec => canon.backpressure_dec(),
            C::TaskReturn { .. } => canon.task_return(result, opts),
            C::TaskCancel => canon.task_cancel(),
            C::ContextGet { ty: t, slot } => canon.context_get(context(t)?, *slot),
            C::ContextSet { ty: t, slot } => canon.context_set(context(t)?, *slot),
            C::ThreadYield { cancellable } => canon.thread_yield(*cancellable),
            C::SubtaskDrop => canon.subtask_drop(),
            C::SubtaskCancel { async_ } => canon.subtask_cancel(*async_),
            C::StreamNew { .. } => canon.stream_new(ty),
            C::StreamRead { .. } => canon.stream_read(ty, opts),
            C::StreamWrite { .. } => canon.stream_write(ty, opts),
            C::StreamCancelRead { async_, .. } => canon.stream_cancel_read(ty, *async_),
            C::StreamCancelWrite { async_, .. } => canon.stream_cancel_write(ty, *async_),
            C::StreamDropReadable { .. } => canon.stream_drop_readable(ty),
            C::StreamDropWritable { .. } => canon.stream_drop_writable(ty),
            C::FutureNew { .. } => canon.future_new(ty),
            C::FutureRead { .. } => canon.future_read(ty, opts),
            C::FutureWrite { .. } => canon.future_write(ty, opts),
            C::FutureCancelRead { async_, .. } => canon.future_cancel_read(ty, *async_),
            C::FutureCancelWrite { async_, .. } => canon.future_cancel_write(ty, *async_),
            C::FutureDropReadable { .. } => canon.future_drop_readable(ty),
            C::FutureDropWritable { .. } => canon.future_drop_writable(ty),
            C::ErrorContextNew { .. } => canon.error_context_new(opts),
            C::ErrorContextDebugMessage { .. } => canon.error_context_debug_message(opts),
            C::ErrorContextDrop => canon.error_context_drop(),
            C::WaitableSetNew => canon.waitable_set_new(),
            C::WaitableSetWait { cancellable, .. } => {
                canon.waitable_set_wait(*cancellable, memory()?)
            }
            C::WaitableSetPoll { cancellable, .. } => {
                canon.waitable_set_poll(*cancellable, memory()?)
            }
            C::WaitableSetDrop => canon.waitable_set_drop(),
            C::WaitableJoin => canon.waitable_join(),
            _ => {
                return Err(Error::internal(format!(
                    "`{}` is not an async built-in the output defines",
                    builtin.name()
                )));
            }
        };
        Ok(())
    }
}
