//! Introspection: the providers of a container and the edges between them, as data, JSON,
//! Mermaid or Graphviz DOT. Reads validated nodes; knows nothing of resolving.

use std::fmt::Write as _;

use serde::Serialize;

use crate::node::Node;
use crate::spec::{ProviderKind, Scope};

/// One provider as introspection shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderInfo {
    /// The bound type's full path.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The binding's name, if any.
    pub name: Option<String>,
    /// Its scope.
    pub scope: Scope,
    /// Whether a singleton is created on first use.
    pub lazy: bool,
    /// How its instance is made.
    pub kind: ProviderKind,
    /// What declared it.
    pub declared_by: String,
    /// Where (`file:line`).
    pub location: String,
    /// What it needs.
    pub dependencies: Vec<DependencyInfo>,
}

/// One dependency of a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyInfo {
    /// The type asked for.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The binding name asked for, if any.
    pub name: Option<String>,
    /// Whether it may be absent.
    pub optional: bool,
    /// The field or argument it fills.
    pub field: Option<String>,
    /// The index in [`Graph::providers`] of the provider that satisfies it (`None` for an absent
    /// optional dependency).
    pub provider: Option<usize>,
}

/// The dependency graph of a container (or of a builder, from
/// [`ContainerBuilder::validate`](crate::ContainerBuilder::validate)).
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Provider};
/// struct Db;
/// struct Repo;
/// let mut b = ContainerBuilder::new();
/// b.add(Provider::value(Db));
/// b.add(Provider::factory(|r| { r.get::<Db>()?; Ok(Repo) }).depends_on(Dependency::on::<Db>().field("db")));
/// let graph = b.validate().unwrap();
/// assert_eq!(graph.providers.len(), 2);
/// assert!(graph.to_mermaid().contains("-->|db|"));
/// assert!(graph.to_dot().starts_with("digraph cortex {"));
/// assert!(graph.to_json().contains("\"scope\":\"singleton\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// Every provider, in registration order.
    pub providers: Vec<ProviderInfo>,
}

impl Graph {
    pub(crate) fn from_nodes<F>(nodes: &[Node<F>]) -> Graph {
        let providers = nodes
            .iter()
            .map(|n| ProviderInfo {
                type_name: n.key.type_name().to_string(),
                name: n.key.name().map(str::to_string),
                scope: n.scope,
                lazy: n.lazy,
                kind: n.kind,
                declared_by: n.declared_by.to_string(),
                location: n.location.to_string(),
                dependencies: n
                    .edges
                    .iter()
                    .map(|e| DependencyInfo {
                        type_name: e.dep.key.type_name().to_string(),
                        name: e.dep.key.name().map(str::to_string),
                        optional: e.dep.optional,
                        field: e.dep.field.map(str::to_string),
                        provider: e.target,
                    })
                    .collect(),
            })
            .collect();
        Graph { providers }
    }

    /// The graph as JSON: `{"providers": [{"type", "name", "scope", "lazy", "kind", "declared_by",
    /// "location", "dependencies": [{"type", "name", "optional", "field", "provider"}]}]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the graph is plain data")
    }

    /// The graph as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("the graph is plain data")
    }

    /// The graph as a Mermaid flowchart (`flowchart LR`), one node per provider, edges labelled
    /// with the fields they fill.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, p) in self.providers.iter().enumerate() {
            let label = mermaid_escape(&label(p));
            let _ = writeln!(out, "    p{i}[\"{label}\"]");
        }
        for (i, p) in self.providers.iter().enumerate() {
            for d in &p.dependencies {
                let Some(t) = d.provider else { continue };
                let arrow = if d.optional { "-.->" } else { "-->" };
                match &d.field {
                    Some(f) => {
                        let _ = writeln!(out, "    p{i} {arrow}|{}| p{t}", mermaid_escape(f));
                    }
                    None => {
                        let _ = writeln!(out, "    p{i} {arrow} p{t}");
                    }
                }
            }
        }
        out
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph cortex {\n    rankdir=LR;\n    node [shape=box];\n");
        for (i, p) in self.providers.iter().enumerate() {
            let _ = writeln!(out, "    p{i} [label=\"{}\"];", dot_escape(&label(p)));
        }
        for (i, p) in self.providers.iter().enumerate() {
            for d in &p.dependencies {
                let Some(t) = d.provider else { continue };
                let mut attrs = Vec::new();
                if let Some(f) = &d.field {
                    attrs.push(format!("label=\"{}\"", dot_escape(f)));
                }
                if d.optional {
                    attrs.push("style=dashed".to_string());
                }
                if attrs.is_empty() {
                    let _ = writeln!(out, "    p{i} -> p{t};");
                } else {
                    let _ = writeln!(out, "    p{i} -> p{t} [{}];", attrs.join(", "));
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

fn label(p: &ProviderInfo) -> String {
    let mut s = p.type_name.clone();
    if let Some(name) = &p.name {
        s.push_str(&format!(" ({name})"));
    }
    s.push_str(&format!("\n{}", p.scope));
    if p.lazy {
        s.push_str(", lazy");
    }
    s
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('\n', "<br/>")
        .replace('|', "#124;")
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
