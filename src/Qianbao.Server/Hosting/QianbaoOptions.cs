namespace Qianbao.Server.Hosting;

/// <summary>Top-level settings (configuration section <c>Qianbao</c>); every key is listed in README.</summary>
public sealed class QianbaoOptions
{
    /// <summary>Where the SQLite database, the generated operator key and platform keys live.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>The operator API credential. When unset, one is generated into the data directory and printed once.</summary>
    public string? OperatorKey { get; set; }

    public AuthOptions Auth { get; set; } = new();
}

public sealed class AuthOptions
{
    /// <summary>Access token lifetime in minutes (1..43200).</summary>
    public int TokenLifetimeMinutes { get; set; } = 60;

    /// <summary>PBKDF2 iterations for new password hashes (1000..10000000); existing hashes keep theirs.</summary>
    public int PasswordIterations { get; set; } = Modules.Identity.PasswordHasher.IterationsDefault;
}
