<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an RSS 2.0 or Atom 1.0 feed as a readable HTML page in a browser. XSLT 1.0 only (all that
     browsers implement); text is always output escaped, as Firefox ignores disable-output-escaping. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom dc">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/rss">
    <xsl:call-template name="page">
      <xsl:with-param name="lang" select="normalize-space(channel/language)"/>
      <xsl:with-param name="self" select="channel/atom:link[@rel='self'][1]/@href"/>
      <xsl:with-param name="title" select="channel/title"/>
      <xsl:with-param name="home" select="channel/link"/>
      <xsl:with-param name="about" select="channel/description"/>
      <xsl:with-param name="items" select="channel/item"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="lang" select="normalize-space(@xml:lang)"/>
      <xsl:with-param name="self" select="atom:link[@rel='self'][1]/@href"/>
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="home" select="atom:link[not(@rel) or @rel='alternate'][1]/@href"/>
      <xsl:with-param name="about" select="atom:subtitle"/>
      <xsl:with-param name="items" select="atom:entry"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="lang"/><xsl:param name="self"/><xsl:param name="title"/>
    <xsl:param name="home"/><xsl:param name="about"/><xsl:param name="items"/>
    <html>
      <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="normalize-space($title)"/> (web feed)</title>
        <style>
:root { color-scheme: light dark; --bg: #fff; --fg: #1d1d20; --muted: #52525a; --link: #0a4fa8; --box: #eef3f9; --line: #c6d0dc; }
@media (prefers-color-scheme: dark) { :root { --bg: #15171b; --fg: #e8e8ea; --muted: #aeb2b9; --link: #9dc3ff; --box: #1f252e; --line: #3a4452; } }
body { margin: 0 auto; max-width: 42rem; padding: 1.25rem 1rem 3rem; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--link); text-decoration-thickness: 1px; text-underline-offset: 0.18em; }
a:hover { text-decoration-thickness: 2px; }
a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; border-radius: 2px; }
.note { background: var(--box); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.75rem 1rem; font-size: 0.95rem; }
.note p { margin: 0.2rem 0; }
code { font: 0.9em/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere;
  background: var(--bg); border: 1px solid var(--line); border-radius: 0.25rem; padding: 0.1em 0.35em; }
h1 { font-size: 2rem; line-height: 1.2; margin: 1.75rem 0 0.5rem; }
h1 a { color: inherit; }
.about { color: var(--muted); margin: 0 0 2rem; }
ol { list-style: none; margin: 0; padding: 0; }
li { border-top: 1px solid var(--line); padding: 1.25rem 0; }
h2 { font-size: 1.3rem; line-height: 1.3; margin: 0 0 0.3rem; }
.meta { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.5rem; }
.meta span, .meta time { white-space: nowrap; }
.summary { margin: 0; }
        </style>
      </head>
      <body>
        <header>
          <div class="note" role="note">
            <p><strong>This is a web feed.</strong> Copy its address into your feed reader to subscribe.</p>
            <xsl:if test="string($self)"><p><code><xsl:value-of select="$self"/></code></p></xsl:if>
          </div>
          <h1>
            <xsl:call-template name="link">
              <xsl:with-param name="href" select="$home"/>
              <xsl:with-param name="text" select="$title"/>
            </xsl:call-template>
          </h1>
          <xsl:if test="normalize-space($about)"><p class="about"><xsl:value-of select="$about"/></p></xsl:if>
        </header>
        <main>
          <xsl:choose>
            <xsl:when test="$items"><ol><xsl:apply-templates select="$items"/></ol></xsl:when>
            <xsl:otherwise><p>This feed has no items yet.</p></xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <xsl:call-template name="entry">
      <xsl:with-param name="lang" select="normalize-space(dc:language)"/>
      <xsl:with-param name="title" select="title"/>
      <xsl:with-param name="href" select="link"/>
      <xsl:with-param name="by" select="dc:creator"/>
      <xsl:with-param name="date" select="pubDate"/>
      <xsl:with-param name="summary" select="description"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="atom:entry">
    <!-- An entry without authors inherits the feed's (RFC 4287, 4.2.1). -->
    <xsl:call-template name="entry">
      <xsl:with-param name="lang" select="normalize-space(@xml:lang)"/>
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="href" select="atom:link[not(@rel) or @rel='alternate'][1]/@href"/>
      <xsl:with-param name="by" select="(atom:author | ../atom:author[not(current()/atom:author)])/atom:name"/>
      <xsl:with-param name="iso" select="atom:published | atom:updated[not(../atom:published)]"/>
      <xsl:with-param name="summary" select="atom:summary"/>
    </xsl:call-template>
  </xsl:template>

  <!-- One list item. by: author nodes, joined with ", ". date: shown as is;
       iso: an RFC 3339 timestamp, shown as its YYYY-MM-DD part. -->
  <xsl:template name="entry">
    <xsl:param name="lang"/><xsl:param name="title"/><xsl:param name="href"/><xsl:param name="by"/>
    <xsl:param name="date"/><xsl:param name="iso"/><xsl:param name="summary"/>
    <li>
      <h2>
        <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
        <xsl:call-template name="link">
          <xsl:with-param name="href" select="$href"/>
          <xsl:with-param name="text" select="$title"/>
        </xsl:call-template>
      </h2>
      <xsl:if test="$by or $date or $iso">
        <p class="meta">
          <xsl:if test="$by">By <xsl:for-each select="$by"><xsl:if test="position() &gt; 1">, </xsl:if><xsl:value-of select="normalize-space(.)"/></xsl:for-each></xsl:if>
          <xsl:if test="$by and ($date or $iso)"> · </xsl:if>
          <xsl:if test="$date"><span><xsl:value-of select="normalize-space($date)"/></span></xsl:if>
          <xsl:if test="$iso"><time datetime="{normalize-space($iso)}"><xsl:value-of select="substring(normalize-space($iso), 1, 10)"/></time></xsl:if>
        </p>
      </xsl:if>
      <xsl:if test="normalize-space($summary)">
        <p class="summary">
          <xsl:if test="$lang"><xsl:attribute name="lang"><xsl:value-of select="$lang"/></xsl:attribute></xsl:if>
          <xsl:value-of select="normalize-space($summary)"/>
        </p>
      </xsl:if>
    </li>
  </xsl:template>

  <xsl:template name="link">
    <xsl:param name="href"/>
    <xsl:param name="text"/>
    <xsl:variable name="label" select="normalize-space($text)"/>
    <xsl:choose>
      <xsl:when test="normalize-space($href)"><a href="{normalize-space($href)}"><xsl:value-of select="$label"/><xsl:if test="not($label)">Untitled</xsl:if></a></xsl:when>
      <xsl:otherwise><xsl:value-of select="$label"/><xsl:if test="not($label)">Untitled</xsl:if></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
