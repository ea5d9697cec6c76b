//! Routers that remember their paths. Every route of the server is added through
//! [`Routes::route`] (clippy refuses `Router::route` anywhere else), so the list of paths
//! [`crate::routes`] returns is the server's own, and the authorization matrix test
//! that walks it cannot miss a route someone added.

use axum::routing::MethodRouter;
use axum::Router;

/// A router and the paths of its routes, relative to where it is mounted.
#[derive(Debug)]
pub struct Routes<S = ()> {
    router: Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self { router: Router::new(), paths: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route, and remembers its path.
    pub fn route(mut self, path: &str, handler: MethodRouter<S>) -> Self {
        self.paths.push(path.to_owned());
        #[expect(clippy::disallowed_methods, reason = "the one place a route is added")]
        let router = self.router.route(path, handler);
        self.router = router;
        self
    }

    /// Adds the routes of `other`.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.paths.extend(other.paths);
        self.router = self.router.merge(other.router);
        self
    }

    /// Mounts `other` under `prefix`.
    pub fn nest(mut self, prefix: &str, other: Routes<S>) -> Self {
        self.paths.extend(other.paths.into_iter().map(|p| {
            if p == "/" {
                prefix.to_owned()
            } else {
                format!("{prefix}{p}")
            }
        }));
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// Changes the router itself — a layer, a fallback, its state — keeping the paths.
    pub fn map<T>(self, f: impl FnOnce(Router<S>) -> Router<T>) -> Routes<T> {
        Routes { router: f(self.router), paths: self.paths }
    }

    /// The router, and every path it serves.
    pub fn into_parts(self) -> (Router<S>, Vec<String>) {
        (self.router, self.paths)
    }
}
