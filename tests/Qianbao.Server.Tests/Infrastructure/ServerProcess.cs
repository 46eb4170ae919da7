using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>How to start a <see cref="ServerProcess"/>: its data directory, its database and its operator key.</summary>
/// <param name="DataDir">The server's data directory (the SQLite file lives here when no PostgreSQL is given).</param>
/// <param name="PostgresConnectionString">A PostgreSQL database to use instead of SQLite, or null.</param>
/// <param name="OperatorKey">The operator API credential.</param>
/// <param name="Environment">More environment variables for the server process.</param>
/// <param name="Configuration">More configuration (keys such as <c>Qianbao:Mode</c>), applied last; an empty value unsets a key.</param>
public sealed record ServerSettings(string DataDir, string? PostgresConnectionString, string OperatorKey,
    IReadOnlyDictionary<string, string>? Environment = null, IReadOnlyDictionary<string, string>? Configuration = null);

/// <summary>
/// The real server as a separate OS process (<c>dotnet Qianbao.Server.dll --urls http://127.0.0.1:port</c>), so
/// that a test can kill it with SIGKILL and start it again on the same data. The server assembly is the copy
/// next to the test assembly (the test project references the server project), with its own runtimeconfig
/// and deps files; failing that, the server project's own build output.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const int StartAttemptsMax = 3;

    /// <summary>The personal-data keys every test process is given (fixed, so processes on one database agree).</summary>
    public const string TestDataKeys = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    public const string TestIndexKey = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    private const int OutputLinesMax = 400;
    // Bounds, not expectations: a server is ready in 2-4 s on a quiet machine, but at load 50 (several engineers' benchmarks on
    // 2 cores) a start took over 30 s and each readyz probe over 2 s, and two-process tests failed for that alone.
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReadyProbeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(15);
    private static readonly Lazy<string> ServerDll = new(FindServerDll);

    private readonly Process process;
    private readonly ConcurrentQueue<string> output;

    private ServerProcess(Process process, ConcurrentQueue<string> output, Uri baseAddress)
    {
        this.process = process;
        this.output = output;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The last <see cref="OutputLinesMax"/> lines the server wrote (stdout and stderr), for failure messages.</summary>
    public string RecentOutput => string.Join('\n', output);

    /// <summary>Path of the server assembly being run.</summary>
    public static string ServerDllPath => ServerDll.Value;

    /// <summary>
    /// Starts the server on a free loopback port and waits (bounded) until <c>/readyz</c> answers 200. Retries
    /// with another port if the chosen one was taken in between.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(ServerSettings settings, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var server = Launch(settings, port);
            try
            {
                await server.WaitUntilReadyAsync(ct);
                return server;
            }
            catch (Exception) when (attempt < StartAttemptsMax && server.HasExited
                                    && server.RecentOutput.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Starts a server that is expected to refuse to start, and waits (bounded) for it to exit; returns its exit code
    /// and everything it wrote. Fails if it becomes ready instead.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(ServerSettings settings, CancellationToken ct = default)
    {
        await using var server = Launch(settings, FreeLoopbackPort());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ReadyTimeout);
        try
        {
            await server.process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"server did not exit within {ReadyTimeout.TotalSeconds:0} s:\n{server.RecentOutput}");
        }
        // WaitForExitAsync also waits for the redirected streams to reach their end, so the output is complete.
        return (server.process.ExitCode, server.RecentOutput);
    }

    /// <summary>An HTTP client for this server, with a bounded timeout.</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = BaseAddress,
            Timeout = timeout ?? TimeSpan.FromSeconds(15),
        };

    /// <summary>Kills the server with SIGKILL (no shutdown code runs) and waits, bounded, until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"server process {process.Id} did not exit within {ExitTimeout.TotalSeconds:0} s of SIGKILL");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            process.Dispose();
        }
    }

    private static ServerProcess Launch(ServerSettings settings, int port)
    {
        var dll = ServerDll.Value;
        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The content root (appsettings.json) is the working directory.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        startInfo.ArgumentList.Add(dll);
        startInfo.ArgumentList.Add("--urls");
        startInfo.ArgumentList.Add("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));

        var env = startInfo.Environment;
        // Nothing inherited may point the server elsewhere.
        foreach (var name in env.Keys.Where(k => k.StartsWith("Qianbao__", StringComparison.OrdinalIgnoreCase)
                                                 || k.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
                                                 || k.Equals("ASPNETCORE_URLS", StringComparison.OrdinalIgnoreCase)
                                                 || k.Equals("ASPNETCORE_HTTP_PORTS", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            env.Remove(name);
        }
        env["Qianbao__DataDir"] = settings.DataDir;
        env["Qianbao__OperatorKey"] = settings.OperatorKey;
        env["Qianbao__Auth__PasswordIterations"] = "1000";
        // Every process of a test shares one database, so they share its personal-data keys (production mode requires them too).
        env["Qianbao__Security__DataKeys"] = TestDataKeys;
        env["Qianbao__Security__IndexKey"] = TestIndexKey;
        env["Qianbao__Sandbox__ConfirmDelayMs"] = "20";
        env["Logging__LogLevel__Default"] = "Warning";
        // The suites written before account security exercise other things; the security suites turn it back on.
        // Production mode refuses the switch, so it is left off there.
        var production = settings.Configuration?.TryGetValue("Qianbao:Mode", out var mode) == true && mode.Equals("production", StringComparison.OrdinalIgnoreCase);
        if (!production) env["Qianbao__Security__Relaxed"] = "true";
        env["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        if (settings.PostgresConnectionString is not null) env["ConnectionStrings__Postgres"] = settings.PostgresConnectionString;
        foreach (var (name, value) in settings.Environment ?? new Dictionary<string, string>()) env[name] = value;
        foreach (var (key, value) in settings.Configuration ?? new Dictionary<string, string>()) env[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        if (!process.Start()) throw new InvalidOperationException($"could not start {startInfo.FileName} {dll}");
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process, output, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
    }

    private async Task WaitUntilReadyAsync(CancellationToken ct)
    {
        using var probe = CreateClient(ReadyProbeTimeout);
        var deadline = Stopwatch.StartNew();
        string last = "no answer yet";
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"server process exited with code {process.ExitCode} before it was ready ({BaseAddress}):\n{RecentOutput}");
            }
            try
            {
                using var response = await probe.GetAsync("readyz", ct);
                if (response.StatusCode == HttpStatusCode.OK) return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                last = e.Message;
            }
            await Task.Delay(50, ct);
        }
        throw new TimeoutException($"server at {BaseAddress} was not ready within {ReadyTimeout.TotalSeconds:0} s (last: {last}):\n{RecentOutput}");
    }

    private static void Keep(ConcurrentQueue<string> output, string? line)
    {
        if (line is null) return;
        output.Enqueue(line);
        while (output.Count > OutputLinesMax) output.TryDequeue(out _);
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The <c>dotnet</c> host running this test process, so the server runs on the same runtime.</summary>
    private static string DotnetHost()
    {
        var fromCli = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromCli) && File.Exists(fromCli)) return fromCli;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
        return "dotnet";
    }

    private static string FindServerDll()
    {
        const string name = "Qianbao.Server";
        static bool Runnable(string dir) =>
            File.Exists(Path.Combine(dir, name + ".dll")) && File.Exists(Path.Combine(dir, name + ".runtimeconfig.json"))
            && File.Exists(Path.Combine(dir, name + ".deps.json"));

        var here = AppContext.BaseDirectory;
        if (Runnable(here)) return Path.Combine(here, name + ".dll");

        // Else the server project's own output, same configuration and framework as this test assembly (…/bin/<Configuration>/<tfm>/).
        var tfm = Path.GetFileName(Path.TrimEndingDirectorySeparator(here));
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(here)));
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Qianbao.slnx"))) continue;
            var candidate = Path.Combine(dir.FullName, "src", name, "bin", configuration ?? "Debug", tfm);
            if (Runnable(candidate)) return Path.Combine(candidate, name + ".dll");
            throw new FileNotFoundException($"no runnable {name}.dll next to the tests ({here}) nor in {candidate}; build the solution first");
        }
        throw new FileNotFoundException($"no runnable {name}.dll next to the tests ({here}) and no Qianbao.slnx above it");
    }
}
