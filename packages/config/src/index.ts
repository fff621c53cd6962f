export { type BuildContext, type PluginFactory, type PluginLogger, Registry } from "./plugin.js";
