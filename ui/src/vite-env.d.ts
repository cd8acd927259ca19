// Vite's types for what it bundles besides TypeScript (the CSS import in main.ts).
/// <reference types="vite/client" />
