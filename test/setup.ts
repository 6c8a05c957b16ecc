import '../local-stack/polyfills.js';
