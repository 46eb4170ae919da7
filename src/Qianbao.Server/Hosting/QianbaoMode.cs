namespace Qianbao.Server.Hosting;

/// <summary>
/// What kind of money a deployment moves (<c>Qianbao:Mode</c>). Test money never meets real money: a sandbox
/// server runs on the simulated bank and accepts anything a developer needs; a production server refuses to
/// start with any sandbox part (see <see cref="ProductionModeRules"/>).
/// </summary>
public enum QianbaoMode
{
    /// <summary>The default: the sandbox bank, private notify URLs allowed, a generated operator key.</summary>
    Sandbox,

    /// <summary>Real money: a real funding channel, public notify URLs only, a configured operator key.</summary>
    Production,
}
