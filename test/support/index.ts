/** Test support for the example programs (native/examples). */
export * from "./build.js";
export * from "./drivers.js";
export * from "./examples.js";
export * from "./http-client.js";
export * from "./memcache-client.js";
export * from "./process.js";
export * from "./server.js";
export * from "./socket-reader.js";
