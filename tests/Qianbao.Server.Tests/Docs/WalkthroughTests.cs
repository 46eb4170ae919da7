using System.Diagnostics;
using System.Text.RegularExpressions;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Docs;

/// <summary>
/// The README's curl walkthrough, run as written (only the server address and the operator key file are replaced)
/// against a real server process with account security on: a reader following it gets the answers it shows.
/// </summary>
public sealed partial class WalkthroughTests : IDisposable
{
    private readonly string dataDir = Directory.CreateTempSubdirectory("qianbao-walkthrough-").FullName;

    [Fact]
    public async Task TheReadmeWalkthroughWorksAsWritten()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(Readme.RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("## API walkthrough (curl)", StringComparison.Ordinal)..];
        var script = ShBlock().Match(section).Groups[1].Value;
        script.ShouldContain("B=http://127.0.0.1:5000");
        script.ShouldContain("$(cat src/Qianbao.Server/data/operator-key)");

        await using var server = await ServerProcess.StartAsync(new ServerSettings(dataDir, null, "walkthrough-operator-key",
            Configuration: new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false" }));
        script = script.Replace("B=http://127.0.0.1:5000", "B=" + server.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("$(cat src/Qianbao.Server/data/operator-key)", "walkthrough-operator-key", StringComparison.Ordinal);

        var output = await RunBashAsync(script);

        output.ShouldContain("\"tier\":\"class_i\"", Case.Sensitive, output);          // identity verified
        output.ShouldContain("\"tier\":\"class_ii\"", Case.Sensitive, output);         // the bank card raised it
        output.ShouldContain("\"status\":\"completed\"", Case.Sensitive, output);      // the transfer with PIN and step-up
        output.ShouldContain("\"ok\":true", Case.Sensitive, output);                   // the ledger check
        output.ShouldNotContain("invalid_verification_code", Case.Sensitive, output);
        output.ShouldNotContain("\"status\":5", Case.Sensitive, output);
    }

    private static async Task<string> RunBashAsync(string script)
    {
        var start = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return await stdout + "\n--- stderr ---\n" + await stderr;
    }

    [GeneratedRegex(@"```sh\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex ShBlock();

    public void Dispose()
    {
        try { Directory.Delete(dataDir, recursive: true); }
        catch (IOException) { /* a file still open: the OS cleans temp later */ }
    }
}
