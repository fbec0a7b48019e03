// The broker's routes, as app.arc's @http declares them: the methods each path takes, which a 405's `Allow` header
// names. The catch-all route answers every other method (405) and path (404); a test holds this table to app.arc.
// The console's paths are not here: its own Lambdas answer them, and the catch-all answers any other method on them 404.

/** Each routed path and its methods, as an `Allow` header lists them. */
export const ROUTES = Object.freeze({
  '/credentials': 'GET, POST',
  '/healthz': 'GET',
})

/** The methods a path takes, or undefined for a path the broker has no route for (`/constructor` included). */
export function allowedMethods (path: string): string | undefined {
  return Object.hasOwn(ROUTES, path) ? ROUTES[path as keyof typeof ROUTES] : undefined
}
