//! What one plugin instance may take from the machine. wasmtime's own
//! `StoreLimits` caps each linear memory separately, so four memories at a
//! 64 MiB cap would be 256 MiB; this limiter counts every memory and table
//! of the instance against one budget.

use wasmtime::ResourceLimiter;

/// Core instances a component may create unless its manifest asks for
/// more: a Rust plugin needs 3, a JavaScript (QuickJS) one 9, a Python one
/// (a whole CPython) 14.
pub const DEFAULT_INSTANCES: usize = 16;
/// The most a manifest may ask for (`[limits] instances`), for bigger
/// language runtimes.
pub const MAX_INSTANCES: usize = 32;
/// Tables and memories a component may create.
pub const MAX_TABLES: usize = 16;
pub const MAX_MEMORIES: usize = 4;
/// Elements in all tables together (function tables of a Rust plugin hold
/// a few hundred).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The budget of one instance.
#[derive(Debug, Clone)]
pub struct PluginLimiter {
    memory_bytes: usize,
    instances: usize,
    memory_used: usize,
    table_elements: usize,
    table_used: usize,
    /// Why the last growth was refused, for the fault message.
    pub refused: Option<String>,
}

impl PluginLimiter {
    /// Linear memory the instance holds now, all memories together.
    pub fn memory_used(&self) -> usize {
        self.memory_used
    }

    /// Whether the last refusal was for memory (a fault worth one retry on
    /// a fresh instance: a language runtime's heap only ever grows).
    pub fn refused_memory(&self) -> bool {
        self.refused
            .as_deref()
            .is_some_and(|r| r.starts_with("memory limit"))
    }

    /// A budget of `memory_bytes` across all memories, and `instances`
    /// core instances.
    pub fn new(memory_bytes: usize, instances: usize) -> PluginLimiter {
        PluginLimiter {
            memory_bytes,
            instances: instances.clamp(1, MAX_INSTANCES),
            memory_used: 0,
            table_elements: MAX_TABLE_ELEMENTS,
            table_used: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for PluginLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.memory_used - current.min(self.memory_used) + desired;
        if after > self.memory_bytes {
            let message = format!(
                "memory limit exceeded: the plugin asked for {} MiB in all, its limit is {} MiB",
                after.div_ceil(1 << 20),
                self.memory_bytes >> 20
            );
            self.refused = Some(message.clone());
            // An error (not `false`) traps at once: a Rust guest would
            // otherwise abort with a bare `unreachable`.
            return Err(wasmtime::Error::msg(message));
        }
        self.memory_used = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.table_used - current.min(self.table_used) + desired;
        if after > self.table_elements {
            let message = format!(
                "table limit exceeded: {after} elements in all, at most {}",
                self.table_elements
            );
            self.refused = Some(message.clone());
            return Err(wasmtime::Error::msg(message));
        }
        self.table_used = after;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_memory_counts_against_one_budget() {
        let mut l = PluginLimiter::new(64 << 20, DEFAULT_INSTANCES);
        // A first memory of 40 MiB, then a second one of 20 MiB: fine.
        assert!(l.memory_growing(0, 40 << 20, None).unwrap());
        assert!(l.memory_growing(0, 20 << 20, None).unwrap());
        // The first growing by 8 MiB more would make 68 MiB.
        let err = l.memory_growing(40 << 20, 48 << 20, None).unwrap_err();
        assert!(err.to_string().contains("memory limit exceeded"), "{err}");
        assert!(l.refused.is_some());
        // Growing within the budget still works.
        assert!(l.memory_growing(40 << 20, 44 << 20, None).unwrap());
    }

    #[test]
    fn tables_share_one_element_budget() {
        let mut l = PluginLimiter::new(1 << 20, DEFAULT_INSTANCES);
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS - 10, None).unwrap());
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(l.table_growing(10, 11, None).is_err());
    }
}
