// Imported first by every entry point, before anything from better-auth is evaluated:
// @better-auth/core reads NODE_ENV once, at module load. Under NODE_ENV=test (or a truthy
// TEST) Better Auth turns its origin/CSRF checks off, which would make the reference server
// wrong for this suite, so the server always runs as "development" here.
if (!process.env.NODE_ENV || process.env.NODE_ENV === "test") {
  process.env.NODE_ENV = "development";
}
if (process.env.TEST && process.env.TEST !== "false") {
  delete process.env.TEST;
}
