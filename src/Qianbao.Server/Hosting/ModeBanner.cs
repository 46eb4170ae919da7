namespace Qianbao.Server.Hosting;

/// <summary>The one line a server prints at start saying which money it moves, so nobody mistakes a sandbox for the real thing.</summary>
public static class ModeBanner
{
    public static string Line(QianbaoMode mode, string channel) => mode switch
    {
        QianbaoMode.Sandbox => "Qianbao is running in SANDBOX mode: test money only (sandbox bank, private notify URLs allowed). "
                               + "Set Qianbao:Mode=production for real money.",
        QianbaoMode.Production => $"Qianbao is running in PRODUCTION mode: real money, funding channel '{channel}'.",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

}
