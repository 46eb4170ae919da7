namespace Qianbao.Server.Hosting;

/// <summary>
/// The configuration is not one the server may run with. <see cref="Exception.Message"/> is one line per
/// problem, each naming the key (<c>Qianbao:Holds:IntervalMs must be 10..600000 (was 0)</c>); the entry point
/// prints it and exits with <see cref="ExitCode"/> instead of a stack trace.
/// </summary>
public sealed class ConfigurationRefusedException(IReadOnlyList<string> problems)
    : InvalidOperationException(string.Join(Environment.NewLine, problems))
{
    /// <summary>EX_CONFIG of sysexits(3): supervisors such as systemd treat it as "do not restart, fix the configuration".</summary>
    public const int ExitCode = 78;

    public IReadOnlyList<string> Problems { get; } = problems;
}
