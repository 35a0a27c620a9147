using RailCloud.WebPubSubEmulator;

var app = EmulatorApp.Build(args);
await app.RunAsync();
