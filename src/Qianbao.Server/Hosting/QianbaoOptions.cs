using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Hosting;

/// <summary>Top-level settings (configuration section <c>Qianbao</c>); every key is listed in README.</summary>
public sealed class QianbaoOptions : IOptionsRules
{
    /// <summary>Sandbox (test money, the default) or production (real money; refuses to start with any sandbox part).</summary>
    public QianbaoMode Mode { get; set; } = QianbaoMode.Sandbox;

    /// <summary>Where the SQLite database, the generated operator key and platform keys live.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>
    /// The operator API credential. When unset in sandbox mode, one is generated into the data directory and printed
    /// once; production mode requires it (see <see cref="ProductionModeRules"/>).
    /// </summary>
    public string? OperatorKey { get; set; }

    public AuthOptions Auth { get; set; } = new();

    /// <summary>The server's public address (absolute http(s) URL), used for links in e-mail; unset, mail carries no links.</summary>
    public string? PublicBaseUrl { get; set; }

    IEnumerable<(string Property, string Problem)> IOptionsRules.Problems()
    {
        if (string.IsNullOrWhiteSpace(DataDir)) yield return (nameof(DataDir), "must be a directory path (was empty)");
        if (PublicBaseUrl is not null && !(Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
            yield return (nameof(PublicBaseUrl), $"must be an absolute http(s) URL (was '{PublicBaseUrl}')");
    }
}

public sealed class AuthOptions
{
    /// <summary>Access token lifetime in minutes (1..43200).</summary>
    [Range(1, 43_200)]
    public int TokenLifetimeMinutes { get; set; } = 60;

    /// <summary>Operator access token lifetime in minutes (1..1440); a disabled operator's tokens are refused sooner.</summary>
    [Range(1, 1_440)]
    public int OperatorTokenLifetimeMinutes { get; set; } = 60;

    /// <summary>PBKDF2 iterations for new password hashes (1000..10000000); existing hashes keep theirs.</summary>
    [Range(1_000, 10_000_000)]
    public int PasswordIterations { get; set; } = Modules.Identity.PasswordHasher.IterationsDefault;
}
