namespace Qianbao.Server.Adapters.Alipay;

/// <summary>The <c>sign_type</c> values of the Alipay OpenAPI v2 protocol.</summary>
public enum AlipaySignType
{
    /// <summary><c>RSA2</c>: SHA256withRSA, PKCS#1 v1.5 padding. The only type accepted by default.</summary>
    Rsa2,

    /// <summary>
    /// <c>RSA</c>: SHA1withRSA, PKCS#1 v1.5 padding. Legacy; accepted only for an app that explicitly allows it,
    /// because SHA-1 collisions are practical.
    /// </summary>
    Rsa,
}
