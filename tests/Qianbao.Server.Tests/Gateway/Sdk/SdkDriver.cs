using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// The official alipay-sdk (tests/sdk/scenario.mjs under Node), used unchanged as a merchant would: commands go in as
/// JSON lines, every <c>exec</c> runs with <c>validateSign: true</c>. The script is also the merchant's notify
/// endpoint (<see cref="NotifyUrl"/>) and checks each notification with <c>checkNotifySign</c>/<c>checkNotifySignV2</c>.
/// Every wait is bounded.
/// </summary>
public sealed class SdkDriver : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(5);
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly Process process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> pending = new();
    private readonly TaskCompletionSource<string> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder stderr = new();
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private int nextId;

    private SdkDriver(Process process) => this.process = process;

    /// <summary>Where the script's notify receiver listens.</summary>
    public string NotifyUrl { get; private set; } = "";

    public static async Task<SdkDriver> StartAsync(string gatewayUrl)
    {
        var sdkDirectory = Path.Combine(RepositoryRoot(), "tests", "sdk");
        await EnsureInstalledAsync(sdkDirectory);
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = sdkDirectory,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        start.ArgumentList.Add(Path.Combine(sdkDirectory, "scenario.mjs"));
        start.ArgumentList.Add(JsonSerializer.Serialize(new { gateway = gatewayUrl, timeoutMs = 20_000 }));
        // The SDK stamps timestamps in local time; the gateway expects China time (the script sets it too).
        start.Environment["TZ"] = "Asia/Shanghai";
        var driver = new SdkDriver(Process.Start(start) ?? throw new InvalidOperationException("node did not start"));
        driver.process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (driver.stderr) driver.stderr.AppendLine(e.Data);
        };
        driver.process.BeginErrorReadLine();
        _ = Task.Run(driver.ReadLoopAsync);
        try
        {
            driver.NotifyUrl = await driver.ready.Task.WaitAsync(StartTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            await driver.DisposeAsync();
            throw new InvalidOperationException("scenario.mjs did not start: " + e.Message + "\n" + driver.Stderr, e);
        }
        return driver;
    }

    public string Stderr
    {
        get
        {
            lock (stderr) return stderr.ToString();
        }
    }

    /// <summary>Registers an <c>AlipaySdk</c> instance under <paramref name="name"/>.</summary>
    public Task RegisterAsync(string name, string appId, string privateKeyPkcs1, string alipayPublicKey) =>
        SendAsync(new JsonObject
        {
            ["op"] = "client", ["name"] = name, ["appId"] = appId, ["privateKey"] = privateKeyPkcs1, ["alipayPublicKey"] = alipayPublicKey,
        });

    /// <summary>
    /// <c>sdk.exec(method, {bizContent, notifyUrl}, {validateSign: true})</c>: the SDK's camel-cased result (it does not
    /// throw for business failures). Throws <see cref="SdkException"/> when the SDK threw (e.g. 验签失败).
    /// </summary>
    public async Task<JsonObject> ExecAsync(string client, string method, object bizContent, string? notifyUrl = null)
    {
        var command = new JsonObject
        {
            ["op"] = "exec", ["client"] = client, ["method"] = method, ["bizContent"] = JsonSerializer.SerializeToNode(bizContent),
        };
        if (notifyUrl is not null) command["notifyUrl"] = notifyUrl;
        return (JsonObject)(await SendAsync(command))!;
    }

    /// <summary>Notifications the receiver got for <paramref name="outTradeNo"/>: <c>{fields, checkNotifySign, checkNotifySignV2, ...}</c>.</summary>
    public async Task<JsonArray> NotificationsAsync(string outTradeNo) =>
        (JsonArray)(await SendAsync(new JsonObject { ["op"] = "notifications", ["outTradeNo"] = outTradeNo }))!;

    private async Task<JsonNode?> SendAsync(JsonObject command)
    {
        var id = Interlocked.Increment(ref nextId);
        command["id"] = id;
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[id] = reply;
        await writeLock.WaitAsync(CommandTimeout);
        try
        {
            await process.StandardInput.WriteLineAsync(command.ToJsonString());
            await process.StandardInput.FlushAsync();
        }
        finally
        {
            writeLock.Release();
        }
        JsonObject answer;
        try
        {
            answer = await reply.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            pending.TryRemove(id, out _);
            throw new TimeoutException($"scenario.mjs did not answer {command["op"]} within {CommandTimeout}.\n{Stderr}");
        }
        if (answer["ok"]!.GetValue<bool>()) return answer["result"]?.DeepClone();
        throw new SdkException(answer["name"]?.GetValue<string>() ?? "Error", answer["error"]?.GetValue<string>() ?? "");
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                JsonObject message;
                try
                {
                    message = JsonNode.Parse(line)!.AsObject();
                }
                catch (JsonException)
                {
                    lock (stderr) stderr.AppendLine("stdout (not JSON): " + line);
                    continue;
                }
                if (message["ready"] is not null)
                {
                    ready.TrySetResult(message["notifyUrl"]!.GetValue<string>());
                    continue;
                }
                if (message["id"] is JsonValue idValue && pending.TryRemove(idValue.GetValue<int>(), out var reply)) reply.TrySetResult(message);
            }
        }
        finally
        {
            ready.TrySetException(new InvalidOperationException("scenario.mjs exited"));
            foreach (var (_, reply) in pending) reply.TrySetException(new InvalidOperationException("scenario.mjs exited\n" + Stderr));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            process.StandardInput.Close(); // the script exits when stdin closes
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        process.Dispose();
    }

    private static async Task EnsureInstalledAsync(string sdkDirectory)
    {
        await InstallLock.WaitAsync(NpmTimeout);
        try
        {
            if (Directory.Exists(Path.Combine(sdkDirectory, "node_modules", "alipay-sdk"))) return;
            var npm = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "ci", "--prefix", sdkDirectory }) npm.ArgumentList.Add(a);
            using var p = Process.Start(npm)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var errors = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(NpmTimeout);
            await p.WaitForExitAsync(cts.Token);
            p.ExitCode.ShouldBe(0, "npm ci failed:\n" + await output + await errors);
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Qianbao.slnx"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Qianbao.slnx) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The SDK threw (e.g. <c>AlipayRequestError</c> 验签失败).</summary>
public sealed class SdkException(string name, string message) : Exception($"{name}: {message}")
{
    public string ErrorName => name;
    public string ErrorMessage => message;
}
