using System.Text.Json;
using RailCloud.Client;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud devices enrol|list|revoke</c> (as a supervisor), and the device file an enrolled <c>railcloud kiosk</c>
/// keeps its key in.
/// </summary>
public static class DevicesCommand
{
    public static async Task<int> RunAsync(Args args, CancellationToken cancellationToken)
    {
        var api = Simulators.Api(args);
        switch (args.At(1))
        {
            case "enrol" when args.At(2) is { } kioskId:
                {
                    var enrolment = await api.CreateEnrolmentAsync(await SupervisorTokenAsync(api, args, cancellationToken), kioskId, cancellationToken);
                    Console.WriteLine($"Enrolment code for {enrolment.KioskId} (shown once, valid until {enrolment.ExpiresAt:u}, works once):");
                    Console.WriteLine($"  {enrolment.Code}");
                    Console.WriteLine($"Open on the kiosk:  {enrolment.Url}");
                    Console.WriteLine($"Or run there:       railcloud kiosk --enrol {enrolment.Code}");
                    return 0;
                }
            case "list":
                {
                    var devices = await api.ListDevicesAsync(await SupervisorTokenAsync(api, args, cancellationToken), cancellationToken);
                    Console.WriteLine($"{"kiosk",-16} {"device",-37} {"name",-24} {"enrolled",-20} {"by",-16} last seen");
                    foreach (var d in devices)
                    {
                        Console.WriteLine($"{d.KioskId,-16} {d.DeviceId,-37} {d.Name ?? "–",-24} {d.EnrolledAt,-20:u} {d.EnrolledBy,-16} {(d.LastSeen is { } seen ? seen.ToString("u") : "never")}");
                    }
                    Console.WriteLine(devices.Count == 1 ? "1 device" : $"{devices.Count} devices");
                    return 0;
                }
            case "revoke" when args.At(2) is { } deviceId:
                await api.RevokeDeviceAsync(await SupervisorTokenAsync(api, args, cancellationToken), deviceId, cancellationToken);
                Console.WriteLine($"Revoked {deviceId}: its tokens no longer work and its connections were closed.");
                return 0;
            default:
                throw new UsageException("devices enrol <kioskId> | devices list | devices revoke <deviceId>, with --id and --password of a supervisor.");
        }
    }

    private static async Task<string> SupervisorTokenAsync(RailCloudApi api, Args args, CancellationToken cancellationToken) =>
        (await api.LoginAsync(args.Require("id"), args.Require("password", "RAILCLOUD_PASSWORD"), cancellationToken)).AccessToken;

    /// <summary>An enrolled device as the CLI keeps it: readable and writable by its user only.</summary>
    public sealed record DeviceFile(string DeviceId, string KioskId, string PrivateKey)
    {
        /// <summary><c>--key-file</c>, else <c>~/.config/railcloud/devices/&lt;kioskId&gt;.json</c>.</summary>
        public static string PathFor(Args args, string kioskId) => args.Get("key-file") ?? System.IO.Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"),
            "railcloud", "devices", kioskId + ".json");

        public void Save(string path)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using var file = new FileStream(path, options);
            JsonSerializer.Serialize(file, this);
        }

        public static DeviceFile? Load(string path) =>
            File.Exists(path) ? JsonSerializer.Deserialize<DeviceFile>(File.ReadAllText(path)) : null;
    }
}
