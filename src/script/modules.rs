//! Resolving `import "file"`: script files from the script's folder (through Rhai's file
//! resolver), with import cycles reported instead of recursing until the stack overflows, and
//! in a sandbox only files inside the script's own folder.

use rhai::module_resolvers::FileModuleResolver;
use rhai::{
    Engine, EvalAltResult, GlobalRuntimeState, Module, ModuleResolver, Position, Scope, Shared,
};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// Rhai's file resolver with cycle detection and the sandbox's folder rule.
pub struct ScriptFiles {
    files: FileModuleResolver,
    /// Files being loaded, outermost first.
    loading: RefCell<Vec<PathBuf>>,
    /// In a sandbox: the only folder imports may come from (canonical).
    confined_to: Option<PathBuf>,
}

impl ScriptFiles {
    /// Imports relative to `dir` (or the working folder); `sandboxed` confines them to it.
    pub fn new(dir: Option<&Path>, sandboxed: bool) -> Self {
        // The folder of a script named without one (`run s.rhai`) is "": the working folder.
        let dir = dir.filter(|d| !d.as_os_str().is_empty());
        let files = match dir {
            Some(d) => FileModuleResolver::new_with_path(d),
            None => FileModuleResolver::new(),
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let base = dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
        // A root that cannot be resolved confines to nothing rather than to everything.
        let confined_to = sandboxed.then(|| {
            base.canonicalize()
                .unwrap_or_else(|_| PathBuf::from("/nonexistent-sandbox-root"))
        });
        ScriptFiles {
            files,
            loading: RefCell::new(Vec::new()),
            confined_to,
        }
    }

    fn refuse(path: &str, why: String, pos: Position) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorInModule(
            path.to_string(),
            Box::new(EvalAltResult::ErrorRuntime(why.into(), pos)),
            pos,
        ))
    }
}

impl ModuleResolver for ScriptFiles {
    fn resolve_raw(
        &self,
        engine: &Engine,
        global: &mut GlobalRuntimeState,
        scope: &mut Scope,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let source = global.source().and_then(|s| Path::new(s).parent());
        let file = self.files.get_file_path(path, source);
        // A file that does not exist is "not found", so the stdlib resolver is asked next.
        let Ok(canonical) = file.canonicalize() else {
            return Err(Box::new(EvalAltResult::ErrorModuleNotFound(
                path.to_string(),
                pos,
            )));
        };
        if let Some(root) = &self.confined_to {
            if !canonical.starts_with(root) {
                let why = format!(
                    "sandbox: {} is outside the script's folder {}",
                    file.display(),
                    root.display()
                );
                return Err(Self::refuse(path, why, pos));
            }
        }
        if self.loading.borrow().contains(&canonical) {
            let chain: Vec<String> = self
                .loading
                .borrow()
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            let why = format!("import cycle: {}", chain.join(" imports "));
            return Err(Self::refuse(path, why, pos));
        }
        self.loading.borrow_mut().push(canonical);
        let result = self.files.resolve_raw(engine, global, scope, path, pos);
        self.loading.borrow_mut().pop();
        result
    }

    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let _ = source; // imports resolve from the script's folder, not the importer's
        let mut global = engine.new_global_runtime_state();
        self.resolve_raw(engine, &mut global, &mut Scope::new(), path, pos)
    }
}
