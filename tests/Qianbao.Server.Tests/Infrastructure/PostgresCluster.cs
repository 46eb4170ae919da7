using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster shared by the whole test process, started lazily from the
/// installed server binaries (highest version under /usr/lib/postgresql/*/bin, else
/// <c>pg_config --bindir</c>; override with QIANBAO_PG_BINDIR).
/// </summary>
/// <remarks>
/// <para>
/// The cluster lives in a fresh temporary directory and listens on 127.0.0.1 on a free port (its
/// Unix socket is inside that directory too). PostgreSQL refuses to run as root, so when the test
/// process is root the directory is chowned to the <c>postgres</c> user and every server binary is
/// run through <c>runuser -u postgres --</c>; otherwise the binaries run as the current user.
/// </para>
/// <para>
/// Use <see cref="CreateDatabaseAsync"/> to get a fresh, uniquely named database per test class.
/// </para>
/// <para>
/// Shutdown: on <see cref="AppDomain.ProcessExit"/> the cluster is stopped with
/// <c>pg_ctl stop -m immediate</c> and its directory deleted. ProcessExit does not run when the test
/// process is killed (SIGKILL, crash), so a small watchdog shell (<c>setsid sh</c>) is started next
/// to the cluster: it blocks reading a pipe whose only writer is this process; the kernel closes that
/// pipe however this process ends, and on end-of-file the watchdog runs the same stop and deletes
/// the directory. A normal shutdown disarms it. Limitation (best effort): if the watchdog is killed
/// together with the test process (e.g. the whole cgroup or process tree is killed), the server is
/// orphaned; it then only stops by itself if its directory is removed (PostgreSQL re-checks its
/// <c>postmaster.pid</c> lock file about once a minute).
/// </para>
/// </remarks>
public sealed class PostgresCluster
{
    private const string SuperUser = "postgres";
    private const int MaxDatabaseNameBytes = 63;

    private static readonly TimeSpan InitDbTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private static readonly Lazy<PostgresCluster> s_shared =
        new(() => new PostgresCluster(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lazy<Task<Running>> _start;
    private int _databaseCounter;

    private PostgresCluster()
    {
        _start = new Lazy<Task<Running>>(
            () => Task.Run(StartCoreAsync),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The process-wide cluster. Getting it is cheap; the server starts on first use.</summary>
    public static PostgresCluster Shared => s_shared.Value;

    /// <summary>Admin connection string (database <c>postgres</c>, user <c>postgres</c>). Requires a started cluster.</summary>
    public string AdminConnectionString => Started.AdminConnectionString;

    /// <summary>TCP port on 127.0.0.1. Requires a started cluster.</summary>
    public int Port => Started.Port;

    /// <summary>Directory of the PostgreSQL binaries in use. Requires a started cluster.</summary>
    public string BinDirectory => Started.Paths.BinDir;

    /// <summary>Wall-clock time the start took (initdb + server start + first connection). Requires a started cluster.</summary>
    public TimeSpan StartDuration => Started.StartDuration;

    /// <summary>
    /// Starts the cluster if it is not running yet. Safe to call concurrently and repeatedly; a failed
    /// start is not retried (every caller sees the same exception, which carries the server log).
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _start.Value.WaitAsync(cancellationToken);

    /// <summary>
    /// Creates a fresh, empty database whose name starts with a sanitised <paramref name="namePrefix"/>
    /// and returns a connection string for it. Starts the cluster if needed.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string namePrefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(namePrefix);
        Running running = await _start.Value.WaitAsync(cancellationToken).ConfigureAwait(false);

        string name = MakeDatabaseName(namePrefix, Interlocked.Increment(ref _databaseCounter));
        await using (var connection = new NpgsqlConnection(running.AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // template0 is never connected to, so concurrent CREATE DATABASE calls cannot collide on it.
            await using var command = new NpgsqlCommand(
                $"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'", connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return BuildConnectionString(running.Port, name);
    }

    private Running Started =>
        _start.IsValueCreated && _start.Value.IsCompletedSuccessfully
            ? _start.Value.Result
            : throw new InvalidOperationException(
                "The PostgreSQL cluster is not started; await StartAsync() or CreateDatabaseAsync() first.");

    internal static string MakeDatabaseName(string namePrefix, int counter)
    {
        var sb = new StringBuilder();
        foreach (char c in namePrefix.ToLowerInvariant())
        {
            sb.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, "db_");
        }

        string suffix = "_" + counter.ToString(CultureInfo.InvariantCulture);
        int maxPrefix = MaxDatabaseNameBytes - suffix.Length;
        if (sb.Length > maxPrefix)
        {
            sb.Length = maxPrefix;
        }

        return sb.Append(suffix).ToString();
    }

    private static string BuildConnectionString(int port, string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = SuperUser,
            Database = database,
            IncludeErrorDetail = true,
        }.ConnectionString;

    // ---------------------------------------------------------------- start

    private static async Task<Running> StartCoreAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        bool asPostgresUser = Environment.IsPrivilegedProcess;
        string binDir = FindBinDirectory();
        Paths paths = CreateDirectories(binDir, asPostgresUser);

        // Cleanup is armed before anything can start a server, so a failure below leaves nothing behind.
        var cleanup = new Cleanup(paths, asPostgresUser);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cleanup.Run();
        try
        {
            cleanup.StartWatchdog();

            ProcessResult initdb = RunServerBinary(paths, asPostgresUser, "initdb",
            [
                "-D", paths.DataDir, "--auth=trust", "-U", SuperUser, "--encoding=UTF8", "--no-locale",
                // The cluster is throwaway: skip flushing the freshly created files to disk.
                // Durability of the running server is unaffected (fsync=on below).
                "--no-sync",
            ], InitDbTimeout);
            if (initdb.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"initdb failed (exit {initdb.ExitCode}) in {paths.Root}:\n{initdb.Output}");
            }

            File.AppendAllText(Path.Combine(paths.DataDir, "postgresql.conf"), ServerSettings(paths));

            int port = StartServer(paths, asPostgresUser);
            string adminConnectionString = BuildConnectionString(port, "postgres");
            await WaitUntilAcceptingConnectionsAsync(paths, adminConnectionString).ConfigureAwait(false);

            return new Running(paths, port, adminConnectionString, stopwatch.Elapsed);
        }
        catch
        {
            cleanup.Run();
            throw;
        }
    }

    private static string ServerSettings(Paths paths)
    {
        string socketDir = paths.SocketDir.Replace("'", "''", StringComparison.Ordinal);
        return $"""

            # --- Qianbao throwaway test cluster ---
            listen_addresses = '127.0.0.1'
            unix_socket_directories = '{socketDir}'
            fsync = on
            synchronous_commit = on
            full_page_writes = on
            max_connections = 300
            shared_buffers = 256MB

            """;
    }

    /// <summary>Starts the server on a free port (retrying if another process took the port first). Returns the port.</summary>
    private static int StartServer(Paths paths, bool asPostgresUser)
    {
        const int attempts = 3;
        for (int attempt = 1; ; attempt++)
        {
            long logOffset = LogLength(paths);
            int port = FindFreeLoopbackPort();
            // -w: pg_ctl polls until the server reports ready, bounded by -t seconds, and returns
            // early with an error if the postmaster exits.
            ProcessResult result = RunServerBinary(paths, asPostgresUser, "pg_ctl",
            [
                "start", "-D", paths.DataDir, "-l", paths.LogFile, "-w",
                "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                "-o", "-p " + port.ToString(CultureInfo.InvariantCulture),
            ], StartTimeout + TimeSpan.FromSeconds(15));
            if (result.ExitCode == 0)
            {
                return port;
            }

            string newLog = ReadLog(paths, logOffset);
            if (attempt < attempts && newLog.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
            {
                // Make sure nothing half-started holds the data directory before retrying.
                RunServerBinary(paths, asPostgresUser, "pg_ctl",
                    ["stop", "-D", paths.DataDir, "-m", "immediate", "-w"], StopTimeout);
                continue;
            }

            throw new InvalidOperationException(
                $"pg_ctl start failed (exit {result.ExitCode}, port {port}, attempt {attempt}):\n{result.Output}\n" +
                $"--- server log {paths.LogFile} ---\n{ReadLog(paths, 0)}");
        }
    }

    private static async Task WaitUntilAcceptingConnectionsAsync(Paths paths, string adminConnectionString)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString)
        {
            Pooling = false,
            Timeout = 5,
        }.ConnectionString;

        var deadline = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(10);
        Exception? last = null;
        while (deadline.Elapsed < ReadyTimeout)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync().ConfigureAwait(false);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
            {
                last = ex;
            }

            await Task.Delay(delay).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }

        throw new InvalidOperationException(
            $"PostgreSQL did not accept connections within {ReadyTimeout.TotalSeconds:0}s " +
            $"({adminConnectionString}): {last?.Message}\n--- server log {paths.LogFile} ---\n{ReadLog(paths, 0)}",
            last);
    }

    // ---------------------------------------------------------------- discovery & directories

    private static string FindBinDirectory()
    {
        string? overrideDir = Environment.GetEnvironmentVariable("QIANBAO_PG_BINDIR");
        if (!string.IsNullOrEmpty(overrideDir))
        {
            return HasServerBinaries(overrideDir)
                ? overrideDir
                : throw new InvalidOperationException($"QIANBAO_PG_BINDIR={overrideDir} holds no initdb/pg_ctl.");
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            string? best = Directory.EnumerateDirectories(debianRoot)
                .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: ParseVersion(Path.GetFileName(dir))))
                .Where(c => c.Version is not null && HasServerBinaries(c.Dir))
                .OrderByDescending(c => c.Version)
                .Select(c => c.Dir)
                .FirstOrDefault();
            if (best is not null)
            {
                return best;
            }
        }

        try
        {
            ProcessResult pgConfig = Run("pg_config", ["--bindir"], Path.GetTempPath(), TimeSpan.FromSeconds(30));
            string dir = pgConfig.StandardOutput.Trim();
            if (pgConfig.ExitCode == 0 && HasServerBinaries(dir))
            {
                return dir;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // pg_config is not on PATH.
        }

        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin nor via " +
            "pg_config --bindir. Install them (apt-get install postgresql) or run ./test.sh, which does.");
    }

    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out Version? v) ? v : null;

    private static bool HasServerBinaries(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));

    private static Paths CreateDirectories(string binDir, bool asPostgresUser)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The throwaway PostgreSQL cluster supports Linux/Unix only.");
        }

        // The postgres user must be able to reach the directory: as root, use /tmp (world-traversable)
        // rather than a TMPDIR that may sit under /root.
        string parent = asPostgresUser ? "/tmp" : Path.GetTempPath();
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

        string root;
        while (true)
        {
            root = Path.Combine(parent, "qianbao-pg-" + Guid.NewGuid().ToString("N")[..12]);
            if (!Path.Exists(root))
            {
                Directory.CreateDirectory(root, ownerOnly);
                break;
            }
        }

        var paths = new Paths(
            BinDir: binDir,
            Root: root,
            DataDir: Path.Combine(root, "data"),
            SocketDir: Path.Combine(root, "socket"),
            LogFile: Path.Combine(root, "server.log"));
        Directory.CreateDirectory(paths.SocketDir, ownerOnly);

        if (asPostgresUser)
        {
            ProcessResult chown = Run("chown", ["-R", SuperUser + ":", root], "/", TimeSpan.FromSeconds(30));
            if (chown.ExitCode != 0)
            {
                TryDeleteDirectory(root);
                throw new InvalidOperationException(
                    $"Running as root, but could not chown {root} to the '{SuperUser}' user " +
                    $"(PostgreSQL refuses to run as root; does the user exist?):\n{chown.Output}");
            }
        }

        return paths;
    }

    private static int FindFreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static long LogLength(Paths paths)
    {
        try
        {
            return new FileInfo(paths.LogFile).Exists ? new FileInfo(paths.LogFile).Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string ReadLog(Paths paths, long offset)
    {
        try
        {
            using var stream = new FileStream(paths.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            string text = reader.ReadToEnd();
            const int maxChars = 20_000;
            return text.Length > maxChars ? "...\n" + text[^maxChars..] : text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"(server log unavailable: {ex.Message})";
        }
    }

    private static void TryDeleteDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort; the watchdog (if armed) retries with rm -rf.
        }
    }

    // ---------------------------------------------------------------- processes

    private static string[] ServerCommand(Paths paths, bool asPostgresUser, string binary, IEnumerable<string> args)
    {
        string exe = Path.Combine(paths.BinDir, binary);
        return asPostgresUser
            ? ["runuser", "-u", SuperUser, "--", exe, .. args]
            : [exe, .. args];
    }

    private static ProcessResult RunServerBinary(
        Paths paths, bool asPostgresUser, string binary, IEnumerable<string> args, TimeSpan timeout)
    {
        string[] command = ServerCommand(paths, asPostgresUser, binary, args);
        // The working directory must be readable by the postgres user.
        return Run(command[0], command[1..], paths.Root, timeout);
    }

    private static ProcessResult Run(string fileName, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();

        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            throw new TimeoutException(
                $"{fileName} {string.Join(' ', startInfo.ArgumentList)} did not finish within {timeout.TotalSeconds:0}s.");
        }

        // Output pipes close when the process exits unless a daemonised grandchild kept them; bound the wait.
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(5));
        string Text(Task<string> t) => t.IsCompletedSuccessfully ? t.Result : "";
        return new ProcessResult(process.ExitCode, Text(stdout), Text(stderr));
    }

    private sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Output => (StandardOutput + "\n" + StandardError).Trim();
    }

    private sealed record Paths(string BinDir, string Root, string DataDir, string SocketDir, string LogFile);

    private sealed record Running(Paths Paths, int Port, string AdminConnectionString, TimeSpan StartDuration);

    /// <summary>Stops the server and deletes its directory exactly once, and owns the crash watchdog.</summary>
    private sealed class Cleanup(Paths paths, bool asPostgresUser)
    {
        private int _done;
        private Process? _watchdog;

        public void StartWatchdog()
        {
            const string script =
                "exec >/dev/null 2>&1\n" +
                // A line on stdin means a clean shutdown already happened: disarm.
                "if IFS= read -r line; then exit 0; fi\n" +
                // End of file: the test process is gone without cleaning up.
                "\"$@\"\n" +
                "rm -rf -- \"$QIANBAO_PG_ROOT\"\n";
            string[] stop = ServerCommand(paths, asPostgresUser, "pg_ctl",
                ["stop", "-D", paths.DataDir, "-m", "immediate", "-w"]);

            // setsid: its own session, so a terminal Ctrl-C aimed at the test run does not kill it.
            bool haveSetsid = File.Exists("/usr/bin/setsid");
            var startInfo = new ProcessStartInfo(haveSetsid ? "/usr/bin/setsid" : "/bin/sh")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = "/",
            };
            startInfo.Environment["QIANBAO_PG_ROOT"] = paths.Root;
            if (haveSetsid)
            {
                startInfo.ArgumentList.Add("/bin/sh");
            }

            foreach (string arg in (string[])["-c", script, "qianbao-pg-watchdog", .. stop])
            {
                startInfo.ArgumentList.Add(arg);
            }

            // Kept referenced for the life of the process: the pipe must only close when we exit.
            _watchdog = Process.Start(startInfo);
        }

        public void Run()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0)
            {
                return;
            }

            try
            {
                if (Directory.Exists(paths.DataDir))
                {
                    RunServerBinary(paths, asPostgresUser, "pg_ctl",
                        ["stop", "-D", paths.DataDir, "-m", "immediate", "-w"], StopTimeout);
                }
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException
                                           or System.ComponentModel.Win32Exception or IOException)
            {
                // Best effort during shutdown; the watchdog stays armed below.
            }

            TryDeleteDirectory(paths.Root);
            if (!Directory.Exists(paths.Root))
            {
                Disarm();
            }
        }

        private void Disarm()
        {
            try
            {
                if (_watchdog is { HasExited: false } watchdog)
                {
                    watchdog.StandardInput.WriteLine("disarm");
                    watchdog.StandardInput.Flush();
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                // Watchdog already gone.
            }
        }
    }
}
